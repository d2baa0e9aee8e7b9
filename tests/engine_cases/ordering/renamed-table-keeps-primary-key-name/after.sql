create table b (id integer constraint a_pkey primary key, v text);
