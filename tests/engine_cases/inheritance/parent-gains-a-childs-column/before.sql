-- Down: a child's own column goes before its parent gains a column of that name (adding first merges them).
CREATE TABLE base (created_at timestamp DEFAULT now(), e int);
CREATE TABLE a (a1 int) INHERITS (base);
