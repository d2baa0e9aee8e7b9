"""The SQL from one inspected database to another: migra's statements, with what it misses
added and what it gets wrong corrected by the other modules of this package."""

from __future__ import annotations

import copy
from typing import Any

from .. import sqltext
from . import (
    catalog,
    comments_grants,
    dependencies,
    enums,
    notnull,
    ordering,
    partitions,
    typechange,
    upstream,
)
from .fixes import (
    drop_superseded_defaults,
    fix_validation,
    identity_before_default,
    regenerate_columns,
    reorder,
    with_domains,
)
from .inspection import unpin_extensions


def migration_sql(i_from: Any, i_target: Any, pinned: frozenset[str] | None = None) -> str:
    """Return the SQL that takes the `i_from` database to the `i_target` one (`pinned`: the
    extensions whose version the DDL names; None compares every version)."""
    upstream.load()
    from migra import Migration

    if pinned is not None:
        i_from, i_target = unpin_extensions(i_from, pinned), unpin_extensions(i_target, pinned)

    i_from, additions = enums.enum_additions(i_from, i_target)
    i_from, composites = _composite_alterations(i_from, i_target)
    i_from, release, own = partitions.rebuilt_tables(i_from, i_target)
    i_from, i_changed = enums.functions_follow_enum_rewrites(i_from, i_target)
    m = Migration(
        i_from, _signature_changes(i_from, enums.views_follow_enum_rewrites(i_from, i_changed))
    )
    m.set_safety(False)  # destructive statements are reported by schemactl, not refused here
    m.add_all_changes(privileges=False)  # privileges are ours: comments_grants.grant_statements
    statements = enums.rewrite_enum_arrays(list(m.statements), i_from, i_target)
    statements = catalog.fix_sequences(
        statements, i_from.schemactl_sequences, i_target.schemactl_sequences
    )
    statements = catalog.fix_collations(
        statements, i_from.schemactl_collations, i_target.schemactl_collations
    )
    parents = {**_parents(i_target), **_parents(i_from)}
    statements = ordering.fix_inheritance(statements, parents, i_target.schemactl_inherited)
    statements = partitions.fix_subpartitions(partitions.fix_attach(statements, parents), i_target)
    statements = partitions.detach_before_drop(statements, i_from)
    statements = fix_validation(statements, i_target)
    statements = ordering.keep_standalone_indexes(statements, i_from, i_target)
    statements = ordering.reindex_recreated_matviews(statements, i_target)
    statements = partitions.fix_index_attachments(
        statements, i_from.schemactl_index_attachments, i_target.schemactl_index_attachments
    )
    drops, creates = catalog.whole_object_statements(
        statements, i_from.schemactl_whole_objects, i_target.schemactl_whole_objects
    )
    first, last = comments_grants.comment_statements(
        drops + statements + creates, i_from.schemactl_comments, i_target.schemactl_comments
    )
    revokes, grants = comments_grants.grant_statements(
        statements, i_from.schemactl_grants, i_target.schemactl_grants
    )
    default_revokes, default_grants = comments_grants.default_privilege_statements(
        i_from.schemactl_default_privileges, i_target.schemactl_default_privileges
    )
    revokes, grants = default_revokes + revokes, grants + default_grants
    storage = catalog.storage_statements(
        statements, i_from.schemactl_storage, i_target.schemactl_storage
    )
    storage += catalog.column_settings_statements(
        statements, i_from.schemactl_column_settings, i_target.schemactl_column_settings, i_target
    )
    statements = with_domains(
        statements, *catalog.domain_statements(i_from.schemactl_domains, i_target.schemactl_domains)
    )
    identities = catalog.identity_statements(
        i_from.schemactl_identities, i_target.schemactl_identities
    )
    statements = (
        release
        + drops
        + revokes
        + first
        + composites
        + statements
        + own
        + identities
        + storage
        + creates
        + last
        + grants
    )
    statements = notnull.rename_statements(
        statements, i_from.schemactl_not_null, i_target.schemactl_not_null
    )
    statements = drop_superseded_defaults(
        identity_before_default(reorder(regenerate_columns(statements, i_target)))
    )
    statements = typechange.drop_needless_using(
        statements, _type_changes(statements, i_from, i_target)
    )
    statements = dependencies.order(
        statements, i_from.schemactl_dependencies, i_target.schemactl_dependencies
    )
    return _tidy(
        "".join(s + "\n\n" for s in enums.additions_first(additions, statements) + statements)
    )


def _type_changes(
    statements: list[str], i_from: Any, i_target: Any
) -> dict[tuple[str, str], typechange.TypeChange]:
    def labels(inspector: Any) -> dict[str, list[str]]:
        return {f"{e.schema}.{e.name}": list(e.elements) for e in inspector.enums.values()}

    return typechange.type_changes(
        statements,
        i_from.schemactl_types,
        i_target.schemactl_types,
        (labels(i_from), labels(i_target)),
    )


def type_changes(
    i_from: Any, i_target: Any, sql: str
) -> dict[tuple[str, str], typechange.TypeChange]:
    """What each column type change in `sql` (from `i_from` to `i_target`) does to stored values."""
    return _type_changes([st.text for st in sqltext.split(sql)[0]], i_from, i_target)


def _composite_alterations(i_from: Any, i_target: Any) -> tuple[Any, list[str]]:
    """ALTER composite types instead of dropping and creating them (docs/engine-notes.md).

    migra drops and creates a changed composite type, which fails once a column, function or
    view uses it. Attributes can be dropped and added in place (added ones go last), so when
    the kept attributes keep their order and type and new ones come last, that is what is
    written, and the type is made equal on a copy of the source inspection so migra skips it.
    Anything else is left to migra, and verification reports it.
    """
    statements: list[str] = []
    patched = {}
    for key, new in i_target.types.items():
        old = i_from.types.get(key)
        if old is None or old.columns == new.columns:
            continue
        kept = [(k, v) for k, v in old.columns.items() if k in new.columns]
        if list(new.columns.items())[: len(kept)] != kept:
            statements.append(
                f"-- note: composite type {key} is dropped and created again, because ALTER TYPE "
                "cannot "
                "reorder or retype its attributes;\n-- this fails while a column, function or view "
                "uses it "
                "(then write the change by hand)."
            )
            continue
        statements += [
            f"alter type {key} drop attribute {catalog.ident(k)};"
            for k in old.columns
            if k not in new.columns
        ]
        statements += [
            f"alter type {key} add attribute {catalog.ident(k)} {v};"
            for k, v in list(new.columns.items())[len(kept) :]
        ]
        patched[key] = new
    if not patched:
        return i_from, statements
    clone = copy.copy(i_from)
    clone.types = {**i_from.types, **patched}
    # migra diffs composite types as selectables (relations of kind "c").
    clone.selectables = {
        **i_from.selectables,
        **{k: i_target.selectables[k] for k in patched if k in i_target.selectables},
    }
    return clone, statements


def _signature_changes(i_from: Any, i_target: Any) -> Any:
    """Make migra drop and create functions that CREATE OR REPLACE cannot change.

    PostgreSQL refuses to replace a function whose result type, OUT parameters or parameter
    names change, or that loses a parameter default; migra writes CREATE OR REPLACE for all
    of them. Such functions answer "not replaceable", so migra drops them (and the views
    that use them) and creates them again.
    """

    def changed(new: Any, old: Any) -> bool:
        names = [i.name for i in new.inputs] != [i.name for i in old.inputs]
        lost_default = any(
            o.default and not n.default for o, n in zip(old.inputs, new.inputs, strict=False)
        )
        return (
            (new.returntype, new.result_string) != (old.returntype, old.result_string)
            or names
            or lost_default
        )

    keys = {
        k
        for k, f in i_target.functions.items()
        if k in i_from.functions and changed(f, i_from.functions[k])
    }
    return catalog.not_replaceable(i_target, keys) if keys else i_target


def _parents(inspector: Any) -> dict[str, list[str]]:
    """Child table (or partition) -> the table it inherits from (or is a partition of)."""
    return {name: [t.parent_table] for name, t in inspector.tables.items() if t.parent_table}


def _tidy(sql: str) -> str:
    # migra separates statements by blank lines and ends with a newline; normalise so
    # "no changes" is exactly the empty string.
    return sql.strip() + "\n" if sql.strip() else ""


def both_directions(
    i_from: Any, i_target: Any, pinned: frozenset[str] | None = None
) -> tuple[str, str]:
    """Return (up, down) SQL between two inspected databases (each inspected once)."""
    return migration_sql(i_from, i_target, pinned), migration_sql(i_target, i_from, pinned)
