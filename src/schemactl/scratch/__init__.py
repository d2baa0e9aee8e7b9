"""Throwaway PostgreSQL: server binaries (installed or bundled), clusters started as a user that
is not root, databases created and dropped in a sandbox, a project's history replayed and its
DDL loaded, and what `doctor` says about all of it.

May import: grammar, connect, project.
"""
