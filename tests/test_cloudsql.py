"""Cloud SQL URLs (`cloudsql://USER@PROJECT:REGION:INSTANCE/DB`), tested up to the call into
Google's connector: nothing from Google is reachable here (README "Cloud SQL" says what is
and is not tested). The local forwarding socket itself is tested against a real server."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from pathlib import Path

import psycopg2
import pytest

from schemactl.connect import cloudsql
from schemactl.scratch import pgserver

from .conftest import Project

PASSWORD = "s3cr3t-pw"


def _no_google(tmp_path: Path) -> dict[str, str]:
    """An environment with no Google credentials anywhere, and no metadata server to ask."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_"))}
    return {**env, "HOME": str(tmp_path), "CLOUDSDK_CONFIG": str(tmp_path), "NO_GCE_CHECK": "True"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("cloudsql://proj:us-central1:inst/app", "a Cloud SQL URL names the database user"),
        ("cloudsql://me@proj:inst/app", "'proj:inst' is not an instance connection name"),
        ("cloudsql://me@proj:us-central1:inst", "names the user and the database"),
        ("cloudsql://me@proj:us-central1:inst/app?ssl=1", "unknown option 'ssl'"),
        ("cloudsql://me@proj:us-central1:inst/app?iam=yes", "iam is true or false"),
    ],
)
def test_bad_cloudsql_urls_are_one_error_line(project: Project, url: str, message: str) -> None:
    r = project.cli("status", "--db", url)
    assert r.returncode == 2 and f"{message}" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_a_url_is_parsed_for_the_connector() -> None:
    t = cloudsql.parse(
        f"cloudsql://sa%40x:{PASSWORD}@my-proj:europe-west1:db1/app%20db?iam=false&ip_type=private",
        "masked",
    )
    assert (t.user, t.instance, t.database, t.iam, t.ip_type, t.password) == (
        "sa@x",
        "my-proj:europe-west1:db1",
        "app db",
        False,
        "private",
        PASSWORD,
    )


def test_without_credentials_the_connector_error_is_exit_7_and_no_password(
    project: Project, tmp_path: Path
) -> None:
    url = f"cloudsql://me:{PASSWORD}@proj:us-central1:inst/app"
    r = project.cli("status", "--db", url, env=_no_google(tmp_path))
    assert r.returncode == 7, r.stderr
    assert "through the Cloud SQL connector: Your default credentials were not found" in r.stderr
    assert "cloudsql://me:***@proj:us-central1:inst/app" in r.stderr
    assert PASSWORD not in r.stdout + r.stderr and "Traceback" not in r.stderr
    r = project.cli("apply", "--db", url, "--format", "json", env=_no_google(tmp_path))
    assert r.returncode == 7 and PASSWORD not in r.stdout + r.stderr


def test_without_the_extra_the_error_says_how_to_install_it(
    project: Project, tmp_path: Path
) -> None:
    # The connector's package made unimportable, as on a machine without the extra.
    shim = tmp_path / "shim" / "google" / "cloud" / "sql" / "connector"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError('No module named google.cloud.sql')\n")
    env = {**_no_google(tmp_path), "PYTHONPATH": str(tmp_path / "shim")}
    r = project.cli("status", "--db", "cloudsql://me@proj:us-central1:inst/app", env=env)
    assert r.returncode == 7, r.stderr
    assert "Cloud SQL URLs need Google's cloud-sql-python-connector" in r.stderr
    assert 'hint: install the extra: pip install "schemactl[cloudsql]"' in r.stderr


def test_the_forwarding_socket_carries_psycopg2_and_pg_dump(
    server: pgserver.EphemeralServer, database: str
) -> None:
    params = server.conn_params(database)
    target = os.path.join(params["host"], f".s.PGSQL.{params['port']}")
    opened: list[int] = []

    def open_remote() -> socket.socket:  # in production: a TLS socket from the connector
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target)
        opened.append(1)
        return s

    forwarder = cloudsql.Forwarder(open_remote)
    try:
        local = {**params, "host": forwarder.directory, "port": 5432, "sslmode": "disable"}
        results: list[object] = []

        def one(i: int) -> None:
            with contextlib.closing(psycopg2.connect(**local)) as conn, conn.cursor() as cur:
                cur.execute("SELECT %s + 1, repeat('x', 200000)", (i,))
                n, big = cur.fetchone()
                results.append((n, len(big)))

        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [(i + 1, 200000) for i in range(4)]  # type: ignore[type-var]
        with contextlib.closing(psycopg2.connect(**local)) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE through (id int)")
            conn.commit()
        dump = pgserver.pg_dump(server.binaries, local, [])
        assert "CREATE TABLE public.through" in dump
        assert len(opened) == 6  # one remote socket per connection
        assert oct(os.stat(forwarder.directory).st_mode & 0o777) == "0o700"
    finally:
        forwarder.close()
    assert not os.path.exists(forwarder.directory)
