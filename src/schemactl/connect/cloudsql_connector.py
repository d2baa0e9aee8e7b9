"""The one place schemactl touches Google's cloud-sql-python-connector (imported only for a
`cloudsql://` URL): TLS sockets to an instance's server-side proxy, opened the way the
connector opens them for its synchronous drivers.

The connector has no public call that returns the socket without a driver on it, so this
takes the steps of `Connector.connect_async` up to that point (its connection-info cache:
ephemeral certificate, instance address, TLS context). They are internal to the connector;
the extra pins the versions this was written against (`>=1.18,<2`), and any change there
becomes an error naming the connector, exit 7, never a silent misconnection.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import socket
from collections.abc import Callable
from typing import Any

SERVER_PROXY_PORT = 3307  # the instance's server-side proxy (the connector's constant)

_connectors: dict[tuple[bool, str], Any] = {}


def opener(instance: str, iam: bool, ip_type: str) -> Callable[[], socket.socket]:
    """A function that opens a new TLS socket to `instance` (PROJECT:REGION:INSTANCE)."""
    from google.cloud.sql.connector import Connector, IPTypes

    key = (iam, ip_type)
    if key not in _connectors:  # one per process: it keeps the certificates fresh
        _connectors[key] = Connector(ip_type=ip_type, enable_iam_auth=iam, refresh_strategy="lazy")
        atexit.register(_close, _connectors[key])
    connector = _connectors[key]
    preference = IPTypes._from_str(ip_type)

    async def context_and_address() -> tuple[Any, str]:
        from google.cloud.sql.connector.client import CloudSQLClient
        from google.cloud.sql.connector.utils import generate_keys

        if connector._keys is None:
            connector._keys = asyncio.create_task(generate_keys())
        if connector._client is None:
            connector._client = CloudSQLClient(
                connector._sqladmin_api_endpoint,
                connector._quota_project,
                connector._credentials,
                user_agent=connector._user_agent,
                driver="psycopg",
            )
        if connector._resolver is None:
            connector._resolver = connector._resolver_cls(client=connector._client)
        name = await connector._resolver.resolve(instance)
        info = await connector._get_or_create_cache(name, iam).connect_info()
        return await info.create_ssl_context(iam), info.get_preferred_ip(preference)

    def open_socket() -> socket.socket:
        future = asyncio.run_coroutine_threadsafe(context_and_address(), connector._loop)
        context, address = future.result(timeout=connector._timeout)
        raw = socket.create_connection((address, SERVER_PROXY_PORT), timeout=connector._timeout)
        try:
            tls = context.wrap_socket(raw, server_hostname=address)
        except Exception:
            raw.close()
            raise
        tls.settimeout(None)
        return tls  # type: ignore[no-any-return]

    return open_socket


def _close(connector: Any) -> None:
    with contextlib.suppress(Exception):  # leaving: its HTTP session closed, nothing to say
        connector.close()
