"""Whether a migration pair does what it claims, checked without migra's inspection: pg_dump
snapshots compared, both scratch databases filled and verified both ways (`comparison`), pairs
verified again along the history (`reverify`), the pair tried on sample rows (`data`), and what
earlier runs computed kept for the same inputs (`snapcache`).

May import: grammar, connect, project, scratch, engine.
"""
