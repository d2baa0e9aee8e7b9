-- Whether changing a column from one type to another rewrites the table (engine/expand.py):
-- not when only the type's modifier changes (varchar(10) to varchar(20)) or the cast between
-- them is binary coercible (varchar to text). Parameters: %(was)s and %(wanted)s, type names
-- as format_type() writes them.
SELECT NOT (to_regtype(%(was)s) = to_regtype(%(wanted)s)
            OR EXISTS (SELECT FROM pg_cast WHERE castsource = to_regtype(%(was)s)
                       AND casttarget = to_regtype(%(wanted)s) AND castmethod = 'b'))
