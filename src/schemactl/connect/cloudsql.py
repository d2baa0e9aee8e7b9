"""Cloud SQL through Google's connector (`pip install "schemactl[cloudsql]"`, README "Cloud
SQL"): `cloudsql://USER@PROJECT:REGION:INSTANCE/DB?iam=true` wherever a URL goes.

The connector speaks TLS to the instance's server-side proxy with an ephemeral certificate
(and, with `iam=true`, the IAM token inside it), then hands the socket to a Python driver:
pg8000, asyncpg or psycopg 3, never libpq. schemactl runs on psycopg2, and `pg_dump` is a
libpq program, so neither can take that socket. Instead each instance gets a local Unix
socket in a private directory, forwarded connection by connection to a TLS socket from the
connector: psycopg2, SQLAlchemy and `pg_dump` connect to it as to any local server (the
connector's own psycopg driver forwards the same way, one connection at a time).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ..errors import ServerUnavailable, UsageError

SCHEME = "cloudsql://"
INSTALL_HINT = 'install the extra: pip install "schemactl[cloudsql]"'


def is_cloudsql(url: str) -> bool:
    return url.strip().lower().startswith(SCHEME)


@dataclass(frozen=True)
class Target:
    """A Cloud SQL database, as a `cloudsql://` URL names it."""

    user: str
    instance: str  # PROJECT:REGION:INSTANCE
    database: str
    iam: bool = False  # automatic IAM database authentication (no password)
    ip_type: str = "public"  # public, private, psc
    password: str | None = None


def parse(url: str, masked: str) -> Target:
    """`cloudsql://USER[:PASSWORD]@PROJECT:REGION:INSTANCE/DB?iam=true&ip_type=private`
    (`masked`: the URL as messages show it)."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if "@" not in netloc:
        raise UsageError(
            f"{masked}: a Cloud SQL URL names the database user",
            hint="cloudsql://USER@PROJECT:REGION:INSTANCE/DB (with iam=true, the IAM user)",
        )
    userinfo, _, instance = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if len(instance.split(":")) != 3 or not all(instance.split(":")):
        raise UsageError(
            f"{masked}: {instance!r} is not an instance connection name",
            hint="PROJECT:REGION:INSTANCE, as `gcloud sql instances describe` shows it",
        )
    database = unquote(parts.path.lstrip("/"))
    if not database or not user:
        raise UsageError(f"{masked}: a Cloud SQL URL names the user and the database")
    options = dict(parse_qsl(parts.query))
    if extra := sorted(set(options) - {"iam", "ip_type"}):
        raise UsageError(
            f"{masked}: unknown option {extra[0]!r}", hint="the options are iam and ip_type"
        )
    iam = options.get("iam", "false").lower()
    ip_type = options.get("ip_type", "public").lower()
    if iam not in ("true", "false") or ip_type not in ("public", "private", "psc"):
        raise UsageError(
            f"{masked}: iam is true or false, ip_type public, private or psc",
            hint="e.g. cloudsql://me@p:r:i/app?iam=true&ip_type=private",
        )
    return Target(
        unquote(user), instance, database, iam == "true", ip_type, unquote(password) or None
    )


def conn_params(url: str, masked: str) -> dict[str, Any]:
    """psycopg2 keyword arguments that reach the database through the instance's local
    socket (started on first use; ServerUnavailable, exit 7, when the connector cannot)."""
    target = parse(url, masked)
    forwarder = _forwarder(target, masked)
    user = target.user.removesuffix(".gserviceaccount.com") if target.iam else target.user
    params: dict[str, Any] = {
        "host": forwarder.directory,
        "port": 5432,
        "user": user,
        "dbname": target.database,
        "sslmode": "disable",  # the tunnel is the TLS: libpq must not try its own
    }
    if target.password:
        params["password"] = target.password
    return params


_forwarders: dict[tuple[str, bool, str], Forwarder] = {}
_lock = threading.Lock()


def _forwarder(target: Target, masked: str) -> Forwarder:
    key = (target.instance, target.iam, target.ip_type)
    with _lock:
        if key not in _forwarders:
            _forwarders[key] = Forwarder(_connector_sockets(target, masked))
        return _forwarders[key]


def _connector_sockets(target: Target, masked: str) -> Callable[[], socket.socket]:
    """A function opening TLS sockets to the instance through the connector. The first is
    opened here, so what stops it (no credentials, no such instance, no permission) is an
    error now, not a closed connection later."""
    try:
        from google.cloud.sql.connector import Connector  # noqa: F401
    except ImportError as e:
        raise ServerUnavailable(
            f"{masked}: Cloud SQL URLs need Google's cloud-sql-python-connector ({e})",
            hint=INSTALL_HINT,
        ) from None
    from . import cloudsql_connector

    try:
        opener = cloudsql_connector.opener(target.instance, target.iam, target.ip_type)
        first = opener()
    except Exception as e:  # the connector's and google-auth's errors: say them as they are
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if target.password:
            message = message.replace(target.password, "***")
        raise ServerUnavailable(
            f"cannot connect to {masked} through the Cloud SQL connector: {message}",
            hint="check `gcloud auth application-default login` (or "
            "GOOGLE_APPLICATION_CREDENTIALS), the instance name, and the Cloud SQL Client role",
        ) from None
    ready = [first]

    def open_socket() -> socket.socket:
        return ready.pop() if ready else opener()

    return open_socket


class Forwarder:
    """A Unix socket in a private directory; each connection to it is forwarded to a socket
    from `open_remote`, until either side closes."""

    def __init__(self, open_remote: Callable[[], socket.socket]) -> None:
        self.open_remote = open_remote
        self.directory = tempfile.mkdtemp(prefix="schemactl-cloudsql-")  # mode 0700
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(os.path.join(self.directory, ".s.PGSQL.5432"))
        self._listener.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()
        atexit.register(self.close)

    def _accept(self) -> None:
        while True:
            try:
                local, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(local,), daemon=True).start()

    def _serve(self, local: socket.socket) -> None:
        try:
            remote = self.open_remote()
        except Exception:
            local.close()  # the client sees the connection closed; the first error was said
            return
        _pump(local, remote)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def _pump(local: socket.socket, remote: socket.socket) -> None:
    """Copy bytes both ways in one thread (an SSLSocket must not be shared between threads)."""
    sel = selectors.DefaultSelector()
    sel.register(local, selectors.EVENT_READ, remote)
    sel.register(remote, selectors.EVENT_READ, local)
    try:
        while True:
            pending = getattr(remote, "pending", lambda: 0)()
            # TLS may hold decrypted bytes the socket no longer shows as readable: first them.
            events: list[tuple[Any, Any]] = [(remote, local)] if pending else []
            if not events:
                events = [(key.fileobj, key.data) for key, _ in sel.select()]
            for source, sink in events:
                data = source.recv(65536)
                if not data:
                    return
                sink.sendall(data)
    except OSError:
        return
    finally:
        sel.close()
        for s in (local, remote):
            with contextlib.suppress(OSError):
                s.close()
