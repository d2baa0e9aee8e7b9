-- a key a foreign key rests on, replaced (renamed, widened): the foreign key is dropped before it and added back after
create table p (id int constraint p_id primary key, code text, constraint u1 unique (code));
create table c (id int primary key, pcode text references p (code), pid int references p (id));
create unique index p_code_lower on p (lower(code));
