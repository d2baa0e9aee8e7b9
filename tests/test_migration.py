"""The migration model (migration.py): everything read from one read of the up file."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from schemactl.errors import SQLFileError
from schemactl.project import headers
from schemactl.project.migfiles import MigrationPair
from schemactl.project.migration import Migration, read_all


def _pair(root: Path, up: bytes, down: bytes = b"select 1;\n") -> MigrationPair:
    generated = root / "generated"
    generated.mkdir(exist_ok=True)
    (generated / "0001_x.up.sql").write_bytes(up)
    (generated / "0001_x.down.sql").write_bytes(down)
    return MigrationPair(1, "x", generated / "0001_x.up.sql", generated / "0001_x.down.sql")


def test_directives_checksum_and_text_come_from_one_read(tmp_path: Path) -> None:
    up = (
        "\ufeff-- schemactl:environments staging, prod\n-- schemactl:no-transaction\n"
        "create index concurrently i on t (x);\n"
    ).encode()
    m = Migration.read(_pair(tmp_path, up), tmp_path)
    (tmp_path / "generated" / "0001_x.up.sql").write_text("drop table t;\n")  # changed later
    assert m.environments == ("staging", "prod")
    assert m.transactional is False
    assert m.whole_file == hashlib.sha256(up).hexdigest()
    stripped = headers.strip(up.decode("utf-8", errors="surrogateescape"))
    assert m.checksum == hashlib.sha256(stripped.encode()).hexdigest()
    assert "create index concurrently" in m.up.text  # what runs is what was checksummed
    assert m.matches(m.whole_file) and m.matches(m.checksum) and not m.matches(None)


def test_a_file_that_is_not_utf8_has_a_checksum_and_fails_only_when_run(tmp_path: Path) -> None:
    m = Migration.read(_pair(tmp_path, b"select '\xff';\n"), tmp_path)
    assert len(m.checksum) == 64 and m.environments is None and m.transactional
    with pytest.raises(SQLFileError, match=r"generated/0001_x.up.sql:1: not valid UTF-8"):
        _ = m.up


def test_the_down_file_is_read_when_needed(tmp_path: Path) -> None:
    _pair(tmp_path, b"create table t (x int);\n", b"-- schemactl:no-transaction\n")
    m = read_all(tmp_path / "generated", tmp_path)[1]
    assert m.down_transactional is False and m.down_script.sqlfile.statements == []
