-- migra gets this right; it must stay right: schemainspect's policy equality ignores names: a rename must still happen
CREATE TABLE t (id int);
ALTER TABLE t ENABLE ROW LEVEL SECURITY;
CREATE POLICY p1 ON t USING (id > 0);
