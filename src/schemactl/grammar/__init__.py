"""SQL as PostgreSQL's own parser reads it (pglast): text split into statements with their
line:column, and each statement parsed once into a record of what it creates, drops, changes
and uses. Below everything that reads SQL: project files, the engine, the data trial, the runner.

May import: the floor.
"""
