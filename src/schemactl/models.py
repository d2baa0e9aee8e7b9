"""SQLAlchemy models from the DDL, generated in-process by sqlacodegen.

All schemas go into **one module**: foreign keys and relationships cross schemas freely, and
one `Base` (one metadata) is what an application wants to import. Tables outside the
default schema carry `{"schema": ...}` in their table arguments.

The module text is a pure function of the schema and the settings (no timestamp), so `check`
can compare the committed file with a fresh generation byte for byte. Before the text is
trusted it is executed once: a module that does not import is never written.
"""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points, version
from typing import Any

from .errors import ModelsError, UsageError
from .project.config import Config, ModelSettings
from .results import ModelsResult

DEFAULT_SCHEMA = "public"


@dataclass
class Rendered:
    """A generated models module and what could not be represented in it."""

    text: str
    warnings: list[str]
    schemas: list[str]


class _LazyInflectEngine:
    """Creates the real `inflect.engine()` on first use."""

    def __getattr__(self, name: str) -> Any:
        import inflect  # the real module: the stand-in is out of sys.modules by now

        engine = inflect.engine()
        self.__dict__.update({"_real": engine})
        return getattr(engine, name)


def _import_generators() -> None:
    """Import sqlacodegen.generators without paying for `inflect` unless it is used.

    sqlacodegen imports `inflect` at module level and builds an engine in every generator's
    constructor, but uses it only with the `use_inflect` option. Importing inflect takes
    ~2.7 s (typeguard instruments it at import), more than the rest of a `check`; so while
    sqlacodegen loads, `inflect` is a stand-in whose engine imports the real one on first use.
    """
    if "sqlacodegen.generators" in sys.modules or "inflect" in sys.modules:
        return
    stand_in = types.ModuleType("inflect")
    stand_in.engine = _LazyInflectEngine  # type: ignore[attr-defined]
    sys.modules["inflect"] = stand_in
    try:
        importlib.import_module("sqlacodegen.generators")
    finally:
        if sys.modules.get("inflect") is stand_in:
            del sys.modules["inflect"]


def _generator_class(name: str) -> Any:
    _import_generators()
    found = {ep.name: ep for ep in entry_points(group="sqlacodegen.generators")}
    if name not in found:
        raise UsageError(
            f"unknown models generator {name!r}", hint="choose one of: " + ", ".join(sorted(found))
        )
    if name == "sqlmodels" and importlib.util.find_spec("sqlmodel") is None:
        raise UsageError(
            "the sqlmodels generator needs the sqlmodel package", hint="pip install sqlmodel"
        )
    return found[name].load()


def _schemas(conn: Any, config: Config, settings: ModelSettings) -> list[str]:
    from sqlalchemy import text

    if settings.schemas:
        return sorted(settings.schemas)
    names = conn.execute(
        text(
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
            "AND nspname <> 'information_schema' ORDER BY 1"
        )
    ).scalars()

    keeps = config.schema_filter.keeps
    return [n for n in names if keeps(n)]


def _partitions(conn: Any) -> dict[tuple[str, str], str]:
    """(schema, partition) -> parent, for every partition (they are left out of the models)."""
    from sqlalchemy import text

    rows = conn.execute(
        text(
            """SELECT n.nspname, c.relname, p.relname
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_class p ON p.oid = i.inhparent
               WHERE c.relispartition"""
        )
    )
    return {(s, child): parent for s, child, parent in rows}


def _column_types(conn: Any) -> dict[tuple[str, str, str], str]:
    from sqlalchemy import text

    rows = conn.execute(
        text(
            """SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE a.attnum > 0 AND NOT a.attisdropped
                 AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'"""
        )
    )
    return {(s, t, c): ty for s, t, c, ty in rows}


def _tolerant(generator_class: Any, types: dict[tuple[str, str, str], str]) -> Any:
    """Subclass the generator so columns of types SQLAlchemy does not know still import.

    sqlacodegen writes `x: Mapped[object] = mapped_column(NullType)`, which SQLAlchemy
    rejects at import (it tries to derive a type from `object`). A plain, unannotated
    `Column(NullType)` keeps the column: the model imports and reads work (values arrive as
    text); only create_all cannot emit it.
    """
    from sqlalchemy.types import NullType

    if not hasattr(generator_class, "render_column_attribute"):
        return generator_class  # the tables generator writes Core Table objects: NullType is fine

    class Tolerant(generator_class):  # type: ignore[misc]
        def render_column_attribute(self, column_attr: Any) -> str:
            column = column_attr.column
            if not isinstance(column.type, NullType):
                return str(super().render_column_attribute(column_attr))
            pg_type = types.get(
                (column.table.schema or DEFAULT_SCHEMA, column.table.name, column.name), "?"
            )
            rendered = self.render_column(column, column_attr.name != column.name)
            if rendered.startswith("mapped_column("):
                self.add_literal_import("sqlalchemy", "Column")
                rendered = "Column(" + rendered[len("mapped_column(") :]
            return f"{column_attr.name} = {rendered}  # {pg_type}: no SQLAlchemy type"

    return Tolerant


def render(config: Config, settings: ModelSettings, url: Any) -> Rendered:
    """Reflect the database at `url` and return the models module sqlacodegen writes for it."""
    from sqlalchemy import MetaData, create_engine
    from sqlalchemy.exc import SAWarning
    from sqlalchemy.types import NullType

    generator_class = _generator_class(settings.generator)
    unknown = sorted(set(settings.options) - set(generator_class.valid_options))
    if unknown:
        raise UsageError(
            f"sqlacodegen option {unknown[0]!r} is not valid for the {settings.generator} "
            "generator",
            hint="valid options: " + ", ".join(sorted(generator_class.valid_options)),
        )
    engine = create_engine(url)
    notes: list[str] = []
    try:
        with engine.connect() as conn:
            schemas = _schemas(conn, config, settings)
            partitions = _partitions(conn)
            types = _column_types(conn)
        metadata = MetaData()
        generator = _tolerant(generator_class, types)(metadata, engine, set(settings.options))
        views = settings.views and generator.views_supported
        excluded = set(settings.exclude_tables)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SAWarning)
            for schema in schemas:

                def keep(name: str, _: Any, schema: str = schema) -> bool:
                    if name in excluded or f"{schema}.{name}" in excluded:
                        return False
                    parent = partitions.get((schema, name))
                    if parent is not None:
                        notes.append(
                            f"{schema}.{name} is a partition of {schema}.{parent}: only the "
                            "partitioned table gets a model"
                        )
                        return False
                    return True

                # The default schema stays unqualified in the models, as applications expect.
                metadata.reflect(
                    engine, None if schema == DEFAULT_SCHEMA else schema, views=views, only=keep
                )
            text = generator.generate()
    finally:
        engine.dispose()
    for table in metadata.sorted_tables:
        schema = table.schema or DEFAULT_SCHEMA
        if table.name in excluded or f"{schema}.{table.name}" in excluded:
            notes.append(
                f"{schema}.{table.name} was to be left out but is kept: other models' foreign keys "
                "refer to it"
            )
        for column in table.columns:
            if isinstance(column.type, NullType):
                pg_type = types.get((table.schema or DEFAULT_SCHEMA, table.name, column.name), "?")
                notes.append(
                    f"{table.schema or DEFAULT_SCHEMA}.{table.name}.{column.name}: type {pg_type} "
                    "has "
                    "no SQLAlchemy equivalent; mapped as NullType (reads work; create_all cannot "
                    "create this column)"
                )
    notes += [
        str(w.message)
        for w in caught
        if not str(w.message).startswith("Did not recognize type")  # reported above, with names
    ]
    if settings.views and not views:
        notes.append(f"views are not generated by the {settings.generator} generator")
    module = _header(config, settings, schemas) + text.rstrip() + "\n"
    _check_imports(module, config)
    return Rendered(module, sorted(set(notes)), schemas)


def _header(config: Config, settings: ModelSettings, schemas: list[str]) -> str:
    lines = [
        f"# Generated by `schemactl generate-models` from {config.rel(config.schemas)}/. Do not "
        "edit:",
        "# `schemactl check` fails when this file no longer matches the DDL.",
        f"# Generator: {settings.generator} (sqlacodegen {version('sqlacodegen')}). "
        f"Schemas: {', '.join(schemas) or 'none'}.",
    ]
    if settings.options:
        lines.append(f"# Options: {', '.join(sorted(settings.options))}.")
    if settings.exclude_tables:
        lines.append(f"# Left out: {', '.join(sorted(settings.exclude_tables))}.")
    if not settings.views:
        lines.append("# Views left out.")
    return "\n".join(lines) + "\n\n"


def _check_imports(module: str, config: Config) -> None:
    # SQLModel keeps one global metadata, so a second exec in this process would clash with the
    # first; that generator's output is checked by Python's compiler only.
    name = "_schemactl_generated_models"
    try:
        code = compile(module, config.rel(config.models), "exec")
        if "from sqlmodel import" not in module:
            # A real module in sys.modules: SQLAlchemy resolves Mapped[...] annotations there.
            mod = types.ModuleType(name)
            sys.modules[name] = mod
            exec(code, mod.__dict__)
    except Exception as e:
        raise ModelsError(
            f"sqlacodegen produced a models module that does not import: {type(e).__name__}: {e}",
            hint="leave the offending table out with --exclude-table (or models_exclude_tables)",
        ) from None
    finally:
        sys.modules.pop(name, None)


def generate_models(
    config: Config,
    *,
    settings: ModelSettings | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> ModelsResult:
    """Load `schemas/` into a scratch database and write SQLAlchemy models for it (sqlacodegen)."""
    from .project import ddl, migfiles
    from .scratch import sandbox

    settings = settings or config.model_settings
    files = ddl.discover(config.schemas, config.load_order, config.root)
    with sandbox.sandbox(config) as box:
        db = box.create_database("models")
        progress(f"loading {len(files)} schema file{'' if len(files) == 1 else 's'}")
        sandbox.load_schemas(box, db, files)
        progress("generating models")
        rendered = render(config, settings, box.sqlalchemy_url(db))
    path = config.models
    changed = not path.exists() or path.read_text(encoding="utf-8") != rendered.text
    if changed:
        migfiles.write_atomic(path, rendered.text)
    return ModelsResult(path, changed, rendered.warnings, rendered.schemas)
