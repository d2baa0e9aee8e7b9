"""The parser layer and the dependency order on recorded statements: no server needed."""

from __future__ import annotations

import pytest

from schemactl.engine import dependencies
from schemactl.engine.dependencies import Dependencies
from schemactl.grammar.statements import parse


@pytest.mark.parametrize(
    ("text", "verb", "kind", "name", "creates", "drops"),
    [
        (
            'create table "public"."t" ("id" integer);',
            "create",
            "table",
            ("public", "t"),
            {("relation", "public", "t", None)},
            set(),
        ),
        (
            "CREATE UNIQUE INDEX a_pkey ON public.b USING btree (id);",
            "create",
            "index",
            ("public", "a_pkey"),
            {("relation", "public", "a_pkey", None)},
            set(),
        ),
        (
            'drop function if exists "public"."zpos"(v integer);',
            "drop",
            "function",
            ("public", "zpos"),
            set(),
            {("function", "public", "zpos", None)},
        ),
        (
            "create domain public.posint as integer constraint c CHECK (zpos(VALUE));",
            "create",
            "domain",
            ("public", "posint"),
            {("type", "public", "posint", None)},
            set(),
        ),
        (
            "create aggregate s.total(integer) (sfunc = int4pl, stype = integer);",
            "create",
            "aggregate",
            ("s", "total"),
            {("function", "s", "total", None)},
            set(),
        ),
        (
            'drop trigger "trg" on "s"."t";',
            "drop",
            "trigger",
            ("s", "trg"),
            set(),
            {("relation", "s", "t", "trg")},
        ),
        (
            'alter table "s"."t" drop constraint "t_pkey";',
            "alter",
            "table",
            ("s", "t"),
            set(),
            {("relation", "s", "t", "t_pkey")},
        ),
        # Unqualified names resolve to public, as in a scratch database.
        ("create view v as select 1;", "create", "view", ("public", "v"), None, set()),
        ("-- note: composite type x is dropped and created again", "note", None, None, None, None),
        ("set local check_function_bodies = off;", "set", None, None, None, None),
        ("this is not sql;", "other", None, None, None, None),
    ],
)
def test_statements_are_read_into_records(
    text: str,
    verb: str,
    kind: str | None,
    name: tuple[str, str] | None,
    creates: set[object] | None,
    drops: set[object] | None,
) -> None:
    st = parse(text)
    assert (st.verb, st.kind, st.name) == (verb, kind, name)
    if creates is not None:
        assert st.creates == creates
    if drops is not None:
        assert st.drops == drops


def test_alter_table_says_what_it_adds_and_what_it_needs() -> None:
    st = parse(
        'alter table "public"."a" add constraint "f" foreign key (x) references "s"."b" (y);'
    )
    assert (st.action, st.target) == ("add constraint", "f")
    assert st.creates == {("relation", "public", "a", "f")}
    assert st.uses == {("relation", "public", "a", None), ("relation", "s", "b", None)}
    retyped = parse('alter table "public"."a" alter column "x" type bigint;')
    assert retyped.changes == retyped.releases == {("relation", "public", "a", "x")}
    undefaulted = parse('alter table "public"."a" alter column "x" drop default;')
    assert (undefaulted.changes, undefaulted.releases) == (
        frozenset(),
        {("relation", "public", "a", "x")},
    )


def test_create_table_knows_its_parents_and_where_each_column_is_written() -> None:
    text = (
        'create unlogged table "public"."c" (\n    "id" integer default f(\'a,b\', (1)),\n'
        '    "x" text collate "C" check (length(x) > 1),\n    constraint k check (id > 0)\n'
        ') inherits ("public"."p", "s"."q");'
    )
    st = parse(text)
    assert (st.action, st.parents) == ("inherits", (("public", "p"), ("s", "q")))
    assert st.elements == (
        ("id", "\"id\" integer default f('a,b', (1))"),
        ("x", '"x" text collate "C" check (length(x) > 1)'),
        (None, "constraint k check (id > 0)"),
    )
    assert st.body is not None and text[st.body[0] : st.body[1]].strip().startswith('"id"')
    assert text[st.body[1] :].startswith(") inherits")
    partition = parse("create table m_1 partition of m for values in (1);")
    assert (partition.action, partition.parents) == ("partition of", (("public", "m"),))


def test_attach_partition_names_the_partition_and_its_bound() -> None:
    st = parse(
        'alter table "public"."m" attach partition "public"."for" FOR VALUES FROM (\'2007-01-01\')'
        " TO ('2008-01-01');"
    )
    assert (st.action, st.table, st.partition) == (
        "attach partition",
        ("public", "m"),
        ("public", "for"),
    )
    assert st.bound == "FOR VALUES FROM ('2007-01-01') TO ('2008-01-01')"
    assert parse("alter table m attach partition x default;").bound == "default"


def test_renames_say_what_and_to_what() -> None:
    st = parse('alter type "public"."e" rename to "e__old";')
    assert (st.verb, st.kind, st.name, st.target) == ("rename", "type", ("public", "e"), "e__old")
    assert parse("alter table t rename column a to b;").verb == "rename"  # never "alter"


def test_several_statements_in_one_text_are_not_guessed_at() -> None:
    assert parse("create table a (x int); drop table b;").verb == "other"


def _deps(*found: tuple[str | None, ...]) -> Dependencies:
    """Dependencies from rows as sql/dependencies.sql returns them."""
    return dependencies.from_rows(found)


# A domain whose CHECK calls zpos(), and a column of that domain (rows of sql/dependencies.sql).
_DOMAIN_OVER_FUNCTION = (
    ("type", "public", "posint", "c", "function", "public", "zpos", "n"),
    ("relation", "public", "t", "n", "type", "public", "posint", "n"),
)


def test_a_domain_is_created_after_the_function_in_its_check_and_dropped_before_it() -> None:
    create = [
        "create domain public.posint as integer constraint c CHECK (zpos(VALUE));",
        "create function public.zpos(v integer) returns boolean language sql return v > 0;",
        'alter table "public"."t" add column "n" posint;',
    ]
    ordered = dependencies.order(create, Dependencies(), _deps(*_DOMAIN_OVER_FUNCTION))
    assert ordered == [create[1], create[0], create[2]]
    drop = [
        'alter table "public"."t" drop column "n";',
        'drop function if exists "public"."zpos"(v integer);',
        "drop domain public.posint;",
    ]
    ordered = dependencies.order(drop, _deps(*_DOMAIN_OVER_FUNCTION), Dependencies())
    assert ordered == [drop[0], drop[2], drop[1]]


def test_a_name_is_created_once_what_held_it_is_dropped() -> None:
    # A table renamed with its primary key's old name: migra writes the new index as a change
    # of the old one, ahead of everything, and again with the new table.
    index = "CREATE UNIQUE INDEX a_pkey ON public.b USING btree (id);"
    statements = [
        'alter table "public"."a" drop constraint "a_pkey";',
        index,
        'drop index if exists "public"."a_pkey";',
        'drop table "public"."a";',
        'create table "public"."b" ("id" integer not null);',
        index,
        'alter table "public"."b" add constraint "a_pkey" PRIMARY KEY using index "a_pkey";',
    ]
    before = _deps(
        ("relation", "public", "a_pkey", None, "relation", "public", "a", "a"),
        ("relation", "public", "a", "a_pkey", "relation", "public", "a", "a"),
    )
    ordered = dependencies.order(statements, before, Dependencies())
    assert ordered == statements[:1] + statements[2:5] + [index, statements[6]]


def test_a_partition_dropped_explicitly_goes_before_the_table_that_would_take_it_along() -> None:
    statements = ['drop table "public"."m";', 'drop table "public"."m_2006";']
    before = _deps(("relation", "public", "m_2006", None, "relation", "public", "m", "a"))
    assert dependencies.order(statements, before, Dependencies()) == statements[::-1]
    # A serial's sequence also goes with its table, but the table's default needs it: the
    # table first, then the sequence, whose IF EXISTS tolerates either way.
    statements = ['drop sequence if exists "public"."t_id_seq";', 'drop table "public"."t";']
    before = _deps(
        ("relation", "public", "t_id_seq", None, "relation", "public", "t", "a"),
        ("relation", "public", "t", "id", "relation", "public", "t_id_seq", "n"),
    )
    assert dependencies.order(statements, before, Dependencies()) == statements[::-1]


def test_without_edges_the_given_order_is_kept_and_a_cycle_does_not_stop_the_sort() -> None:
    statements = ["create view public.a as select 1;", "create view public.b as select 1;"]
    assert dependencies.order(statements, Dependencies(), Dependencies()) == statements
    cycle = _deps(
        (*("relation", "public", "a", None), *("relation", "public", "b", "n")),
        (*("relation", "public", "b", None), *("relation", "public", "a", "n")),
    )
    assert sorted(dependencies.order(statements, Dependencies(), cycle)) == sorted(statements)
