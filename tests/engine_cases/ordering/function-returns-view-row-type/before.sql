-- A function returning a view's row type is created after the view.
CREATE TABLE t (id int);
