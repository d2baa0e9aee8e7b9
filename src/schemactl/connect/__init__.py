"""How schemactl reaches a PostgreSQL server: URLs in every form libpq takes, passwords masked,
Cloud SQL sockets, the one-line error of a refused connection and the GRANT a denial names, and
queries a Ctrl-C cancels on the server. Used alike by scratch servers and live targets.

May import: the floor.
"""
