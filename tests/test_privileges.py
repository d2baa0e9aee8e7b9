"""Deploy roles with few rights: a privilege the role lacks for schemactl's own work is named,
with the GRANT that fixes it and exit 12 (never "this is a bug"); a role that may only read the
ledger can still run `status` and `history`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from schemactl.scratch import pgserver

from .conftest import Project, query, url_of


@pytest.fixture
def role(server: pgserver.EphemeralServer, database: str) -> Iterator[str]:
    """A login role of this test's own (roles belong to the whole cluster), dropped with what
    it was granted in the test's database."""
    name = f"deploy_{uuid.uuid4().hex[:8]}"
    query(url_of(server, "postgres"), f"CREATE ROLE {name} LOGIN")
    try:
        yield name
    finally:
        query(url_of(server, database), f"DROP OWNED BY {name} CASCADE")
        query(url_of(server, "postgres"), f"DROP ROLE {name}")


def _as(url: str, role: str) -> str:
    return url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


def test_missing_privileges_are_named_with_the_grant_that_fixes_them(
    project: Project, server: pgserver.EphemeralServer, database: str, role: str
) -> None:
    project.schema("t.sql", "create table t (id int primary key);\n")
    assert project.cli("diff", "-m", "base").returncode == 0
    owner = url_of(server, database)
    deploy = _as(owner, role)

    # No CREATE on the database: the ledger's schema cannot be made.
    query(owner, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    r = project.cli("apply", "--db", deploy)
    assert r.returncode == 12, r.stderr
    assert r.stderr.startswith(
        f"error: apply: role '{role}' lacks a privilege: permission denied for database"
    ), r.stderr
    assert f"CREATE SCHEMA schemactl AUTHORIZATION {role}" in r.stderr
    assert "this is a bug" not in r.stderr and "internal error" not in r.stderr

    # The owner applies; the deploy role cannot read the ledger: every command names USAGE.
    assert project.cli("apply", "--db", owner).returncode == 0
    for command in ("status", "history", "apply", "rollback"):
        extra = ("--steps", "1") if command == "rollback" else ()
        r = project.cli(command, "--db", deploy, *extra)
        assert r.returncode == 12, (command, r.stderr)
        assert (
            f"hint: as the owner of the object (or a superuser), run: GRANT USAGE ON SCHEMA "
            f"schemactl TO {role};" in r.stderr
        ), (command, r.stderr)

    # Reading is enough for status and history.
    query(owner, f"GRANT USAGE ON SCHEMA schemactl TO {role}")
    query(owner, f"GRANT SELECT ON ALL TABLES IN SCHEMA schemactl TO {role}")
    r = project.cli("status", "--db", deploy, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [m["state"] for m in json.loads(r.stdout)["migrations"]] == ["applied"]
    r = project.cli("history", "--db", deploy)
    assert r.returncode == 0 and "0001_base" in r.stdout, r.stderr

    # Writing the ledger is not: the GRANT names the rights apply needs, and nothing is kept.
    project.schema("u.sql", "create table u (id int);\n")
    assert project.cli("diff", "-m", "u").returncode == 0
    query(owner, f"GRANT CREATE ON SCHEMA public TO {role}")
    r = project.cli("apply", "--db", deploy)
    assert r.returncode == 12, r.stderr
    assert (
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA schemactl TO {role}"
        in r.stderr
    )
    assert query(owner, "SELECT to_regclass('public.u') IS NULL") == [(True,)]

    # No CONNECT: named at connection time.
    query(owner, f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC")
    r = project.cli("status", "--db", deploy)
    assert r.returncode == 12, r.stderr
    assert f"GRANT CONNECT ON DATABASE {database} TO {role}" in r.stderr
