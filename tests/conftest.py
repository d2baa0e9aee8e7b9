"""Shared fixtures: one real ephemeral PostgreSQL cluster per test session, and projects."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemactl import pgserver
from schemactl.config import Config, load_config


@pytest.fixture(scope="session")
def server() -> Iterator[pgserver.EphemeralServer]:
    """A real cluster shared by the tests that need a live database."""
    box = pgserver.EphemeralServer(pgserver.find_binaries())
    try:
        yield box
    finally:
        box.close()


@pytest.fixture(scope="session")
def dev_url(server: pgserver.EphemeralServer) -> str:
    """A libpq URL of the session cluster, used as `--dev-url` to keep API tests fast."""
    p = server.conn_params("postgres")
    return f"postgresql://postgres@/postgres?host={p['host']}&port={p['port']}"


@pytest.fixture
def database(server: pgserver.EphemeralServer) -> Iterator[str]:
    """A fresh empty database on the session cluster, dropped afterwards."""
    name = server.create_database("test")
    try:
        yield name
    finally:
        server.drop_database(name)


class Project:
    """A schemactl project in a temporary directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "schemas").mkdir(parents=True)
        self.write_config()

    def write_config(self, extra: str = "") -> None:
        (self.root / "schemactl.toml").write_text(
            'schemas = "schemas"\ngenerated = "generated"\n' + textwrap.dedent(extra)
        )

    def schema(self, rel: str, sql: str) -> Path:
        p = self.root / "schemas" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(sql))
        return p

    def remove(self, rel: str) -> None:
        (self.root / "schemas" / rel).unlink()

    @property
    def config(self) -> Config:
        return load_config(self.root)

    def migrations(self) -> list[str]:
        d = self.root / "generated"
        return sorted(p.name for p in d.glob("*.sql")) if d.exists() else []

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the real `schemactl` entry point in this project."""
        return run_cli(*args, cwd=self.root, env=env)


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "schemactl", *args], cwd=cwd, capture_output=True, text=True, env=full_env, timeout=300
    )


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / f"proj-{uuid.uuid4().hex[:6]}")
