create table p (id int constraint p_key primary key, code text, constraint u2 unique (code));
create table c (id int primary key, pcode text references p (code), pid int references p (id));
create unique index p_code_lower on p (lower(code));
