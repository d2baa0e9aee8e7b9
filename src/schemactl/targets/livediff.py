"""`diff --db` / `diff --env`: the SQL that would bring live databases to the state of
`schemas/` (drift), with the statements that lose data or may fail. `schemas/` is loaded and
inspected once, however many databases are compared with it (a fleet)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import engine
from ..connect import dburl
from ..engine.destructive import DestructiveStatement, find_destructive
from ..errors import SchemactlError
from ..project import ddl
from ..project.config import Config
from ..scratch import sandbox
from ..verification import steps


@dataclass
class DriftResult:
    """What `diff --db` found: the SQL that brings the live database to `schemas/`."""

    sql: str  # empty: no drift
    destructive: list[DestructiveStatement] = field(
        default_factory=list
    )  # statements that lose data or may fail

    def to_json(self, warnings: list[str]) -> dict[str, Any]:
        """`warnings`: what the run said besides (a server version mismatch)."""
        return {
            "status": "drift" if self.sql else "no-changes",
            "sql": self.sql,
            "warnings": warnings,
            "destructive": [d.to_json() for d in self.destructive],
        }


Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def drift(
    config: Config, url: str, *, progress: Progress = _quiet, warn: Progress = _quiet
) -> DriftResult:
    """The drift of the live database at `url` (`warn` hears of a server version mismatch)."""
    ((_, found),) = drift_many(config, [url], progress=progress, warn=warn)
    if isinstance(found, SchemactlError):
        raise found
    return found


def drift_many(
    config: Config, urls: list[str], *, progress: Progress = _quiet, warn: Progress = _quiet
) -> list[tuple[str, DriftResult | SchemactlError]]:
    """The drift of each database (masked URL, result or the error that stopped it)."""
    versions: dict[str, int | SchemactlError] = {}
    for url in urls:  # unreachable databases are known before a server starts
        try:
            with contextlib.closing(dburl.connect(url, application_name="schemactl diff")) as c:
                versions[url] = c.server_version
        except SchemactlError as e:
            if len(urls) == 1:
                raise
            versions[url] = e
    schemas = config.schema_filter
    files = ddl.discover(config.schemas, config.load_order, config.root)
    out: list[tuple[str, DriftResult | SchemactlError]] = []
    with sandbox.sandbox(config) as box:  # the steps of `diff`, with one side only
        progress(f"loading {steps.count_of(len(files), 'schema file')}")
        target = steps.inspect(box, steps.load_schemas(box, files), schemas)
        for url in urls:
            version = versions[url]
            if isinstance(version, SchemactlError):
                out.append((dburl.mask(url), version))
                continue
            if message := sandbox.version_warning(version, box):
                warn(message)
            progress(f"comparing with {dburl.mask(url)}")
            try:
                live = engine.inspect(dburl.sqlalchemy_url(dburl.conn_params(url)), schemas)
            except SchemactlError as e:
                out.append((dburl.mask(url), e))
                continue
            sql = engine.migration_sql(live, target, ddl.pinned_extensions(files))
            found = DriftResult(sql, find_destructive(sql, engine.type_changes(live, target, sql)))
            out.append((dburl.mask(url), found))
    return out
