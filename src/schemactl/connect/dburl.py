"""Database URLs: conversion to SQLAlchemy and libpq forms, and password masking.

Any libpq URL is accepted (`postgresql://user:pw@host:port/db?sslmode=...`, Unix sockets via
`?host=/path`, a Cloud SQL Auth Proxy port or socket). Passwords never reach a message.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg2
import psycopg2.extensions

from ..errors import PermissionDenied, ServerUnavailable, UsageError
from . import grants

_URL = re.compile(r"^\s*(?:postgres(?:ql)?|cloudsql)://", re.IGNORECASE)
_PASSWORD_PARAM = re.compile(r"(?P<pre>[?&]password=)(?P<pw>[^&#]*)")
# key=value form: `password=pw`, `password = 'it\'s a pw'` (libpq's quoting), also unterminated.
_PASSWORD_KEYWORD = re.compile(r"(?P<pre>(?<![\w.])password\s*=\s*)(?P<pw>'(?:\\.|[^'\\])*'?|\S*)")


def mask(url: str) -> str:
    """Return a connection string (any form libpq accepts) with every password replaced by `***`."""
    out, end = [], 0
    for start, stop in _password_spans(url):
        out += [url[end:start], "***"]
        end = stop
    return "".join(out) + url[end:]


_URL_IN_TEXT = re.compile(r"(?:postgres(?:ql)?|cloudsql)://[^\s'\"]+", re.IGNORECASE)


def mask_text(text: str) -> str:
    """Free text (an error message, an argument echoed back) with the password of every
    connection string in it masked: the last net under everything schemactl prints as an error."""
    out, end = [], 0
    for m in _URL_IN_TEXT.finditer(text):  # URLs masked as URLs, the rest as key=value text
        out += [_PASSWORD_KEYWORD.sub(r"\g<pre>***", text[end : m.start()]), mask(m.group())]
        end = m.end()
    return "".join(out) + _PASSWORD_KEYWORD.sub(r"\g<pre>***", text[end:])


def _password_spans(url: str) -> list[tuple[int, int]]:
    """Where the passwords stand in a connection string, as written (not decoded)."""
    if not _URL.match(url):
        return [m.span("pw") for m in _PASSWORD_KEYWORD.finditer(url)]
    # postgresql://user:password@host/...: the password runs to the last '@' before the query
    # string, so one holding an unencoded '/' or '@' (which libpq then fails to parse) is
    # still masked whole.
    spans = []
    scheme_end = url.index("://") + 3
    query = url.find("?", scheme_end)
    at = url.rfind("@", scheme_end, query if query >= 0 else len(url))
    if at >= 0 and (colon := url.find(":", scheme_end, at)) >= 0:
        spans.append((colon + 1, at))
    return spans + [m.span("pw") for m in _PASSWORD_PARAM.finditer(url, max(at, 0))]


def conn_params(url: str) -> dict[str, Any]:
    """Parse a libpq URL or key=value string into psycopg2 keyword arguments (a
    `cloudsql://` URL: those of the local socket forwarded to the instance, cloudsql.py)."""
    if url.strip().lower().startswith("cloudsql://"):
        from . import cloudsql

        return cloudsql.conn_params(url, mask(url))
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


def conninfo(params: dict[str, Any]) -> str:
    """Return a libpq key=value string of `params` without the password (for command lines)."""

    def quote(v: Any) -> str:
        return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(
        f"{k}={quote(v)}" for k, v in params.items() if k != "password" and v is not None
    )


# libpq's first error line, mapped to what the user should check. Passwords never appear in
# libpq messages, and the URL is always shown masked.
_CONNECT_HINTS = [
    ("password authentication failed", "check the password (in the URL, PGPASSWORD or ~/.pgpass)"),
    ("no password supplied", "give a password (in the URL, PGPASSWORD or ~/.pgpass)"),
    ("does not exist", "check the database and user names, or create the database first"),
    ("timeout expired", "the server did not answer; check host, port and firewall"),
    (
        "",
        "is the server running and reachable at that host and port? (for Cloud SQL, is the "
        "Auth Proxy running, and does the URL point at its port or socket?)",
    ),
]


def connect(url: str, *, application_name: str = "schemactl", connect_timeout: int = 10) -> Any:
    """Connect to the database at `url`; failures become one-line `ServerUnavailable` errors."""
    params = {
        "connect_timeout": connect_timeout,
        **conn_params(url),
        "application_name": application_name,
    }
    try:
        return psycopg2.connect(**params)
    except psycopg2.OperationalError as e:
        lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
        # libpq puts the reason on the last "FATAL:"/"error" line; earlier lines name the socket.
        reason = next(
            (ln for ln in reversed(lines) if ln.startswith("FATAL:")), lines[0] if lines else ""
        )
        secrets = [url[a:b] for a, b in _password_spans(url)] + [params.get("password") or ""]
        reason = _scrub(re.sub(r"^(FATAL|ERROR):\s*", "", reason), secrets)
        if "permission denied for database" in reason:  # no CONNECT: a privilege, not a fault
            raise PermissionDenied(
                f"cannot connect to {mask(url)}: {reason}",
                hint=grants.connect_hint(params.get("dbname"), params.get("user")),
            ) from None
        hint = next(h for key, h in _CONNECT_HINTS if key in reason)
        raise ServerUnavailable(f"cannot connect to {mask(url)}: {reason}", hint=hint) from None


def _scrub(text: str, secrets: list[str]) -> str:
    """`text` without the passwords or any piece of them: a connection string libpq misread (a
    password cut at an unencoded '@' or '/') makes it name a piece as a host or a database."""
    pieces = {p for s in secrets for p in (s, *re.split(r"[@/:?#&=\s]", s)) if len(p) >= 3}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "***")
    return text
