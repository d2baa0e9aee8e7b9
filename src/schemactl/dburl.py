"""Database URLs: conversion to SQLAlchemy and libpq forms, and password masking.

Any libpq URL is accepted (`postgresql://user:pw@host:port/db?sslmode=...`, Unix sockets via
`?host=/path`, a Cloud SQL Auth Proxy port or socket). Passwords never reach a message.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg2.extensions

from .errors import UsageError

_PASSWORD_IN_URL = re.compile(r"(?P<pre>://[^:/@?#]*:)(?P<pw>[^@]*)(?P<post>@)")
_PASSWORD_PARAM = re.compile(r"(?P<pre>[?&]password=)(?P<pw>[^&#]*)", re.IGNORECASE)


def mask(url: str) -> str:
    """Return `url` with any password replaced by `***`."""
    url = _PASSWORD_IN_URL.sub(lambda m: f"{m['pre']}***{m['post']}", url)
    return _PASSWORD_PARAM.sub(lambda m: f"{m['pre']}***", url)


def conn_params(url: str) -> dict[str, Any]:
    """Parse a libpq URL or key=value string into psycopg2 keyword arguments."""
    try:
        return dict(psycopg2.extensions.parse_dsn(url))
    except psycopg2.ProgrammingError:
        raise UsageError(
            f"not a valid PostgreSQL URL: {mask(url)}",
            hint="use postgresql://user@host:5432/dbname (password in PGPASSWORD or ~/.pgpass)",
        ) from None


def sqlalchemy_url(params: dict[str, Any]) -> Any:
    """Build a SQLAlchemy URL (psycopg2 driver) from psycopg2 keyword arguments."""
    from sqlalchemy.engine import URL

    rest = {k: str(v) for k, v in params.items() if k not in ("user", "password", "dbname")}
    # Everything but user/password/dbname goes in the query string, which psycopg2 passes
    # to libpq unchanged: that keeps Unix-socket hosts, ports and sslmode intact.
    return URL.create(
        "postgresql+psycopg2",
        username=params.get("user"),
        password=params.get("password"),
        database=params.get("dbname"),
        query=rest,
    )
