"""schemactl's version: the package's (pyproject reads it here), in migration headers, the
ledger's `applied_by`, and the key of everything kept between runs."""

__version__ = "0.1.0"
