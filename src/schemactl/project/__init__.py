"""The project's files on disk: schemactl.toml and its environments, the DDL under schemas/, the
migrations in generated/ (SQL pairs and Python, their headers, schemactl.sum) as they are read,
checked and run, and the scaffolding of `init`, `new` and `renumber`.

May import: grammar, connect.
"""
