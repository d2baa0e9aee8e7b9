"""Whether a migration pair does what it claims, checked without migra's inspection: the steps
commands are made of (`steps`) and which overlaps which (`flow`), pg_dump snapshots compared
(`verify`), pairs verified again along the history (`reverify`), the pair tried on sample rows
(`data`), and what earlier runs computed, kept for the same inputs (`snapcache`).

May import: grammar, connect, project, scratch, engine.
"""
