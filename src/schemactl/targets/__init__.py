"""Live databases: sessions with the migration lock, the ledger (tracking schema), apply and
rollback with per-migration transactions, status, history, baseline and repair, fleets of
databases, and a live database's drift from schemas/ (`diff --db`).

May import: grammar, connect, project, scratch, engine, verification.
"""
