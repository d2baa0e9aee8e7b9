from __future__ import annotations

import pytest

from schemactl.grammar import sqltext


def texts(sql: str) -> list[str]:
    return [s.text for s in sqltext.split(sql)[0]]


def test_splits_on_semicolons_outside_quotes_and_comments() -> None:
    sql = """
    create table t (a text default 'x;y', "b;c" int); -- trailing; comment
    /* block; /* nested; */ still comment */ select E'it\\'s;' ;
    create function f() returns int language plpgsql as $body$ begin return 1; end $body$;
    select $$a;b$$
    """
    assert texts(sql) == [
        "create table t (a text default 'x;y', \"b;c\" int)",
        "-- trailing; comment\n    /* block; /* nested; */ still comment */ select E'it\\'s;'",
        "create function f() returns int language plpgsql as $body$ begin return 1; end $body$",
        "select $$a;b$$",
    ]


def test_begin_atomic_bodies_stay_whole() -> None:
    sql = (
        "create function f() returns int begin atomic select 1; select case when true then 2 end; "
        "end; select 3;"
    )
    assert texts(sql) == [
        "create function f() returns int begin atomic select 1; select case when true then 2 end; "
        "end",
        "select 3",
    ]


def test_dollar_quote_at_line_start_after_a_word() -> None:
    # regression: "as\n$$" was taken for an identifier continuing past the newline
    sql = "create function f() returns int as\n$$ select 1; $$\nlanguage sql;\nselect 2;"
    assert texts(sql) == [
        "create function f() returns int as\n$$ select 1; $$\nlanguage sql",
        "select 2",
    ]


def test_positional_parameters_are_not_dollar_quotes() -> None:
    assert texts("prepare p as select $1; select 2") == ["prepare p as select $1", "select 2"]


def test_finds_meta_commands_only_outside_strings() -> None:
    sql = "select '\n\\i not_meta';\n  \\i other.sql\nselect 1;"
    _, metas = sqltext.split(sql)
    assert [m.text for m in metas] == ["\\i other.sql"]


def test_unterminated_string_reports_its_start() -> None:
    with pytest.raises(sqltext.SplitError) as e:
        sqltext.split("select 1;\nselect 'abc")
    assert e.value.offset == 17


def test_line_index() -> None:
    idx = sqltext.LineIndex("ab\ncd\n\nef")
    assert idx.position(0) == (1, 1)
    assert idx.position(4) == (2, 2)
    assert idx.position(7) == (4, 1)
    assert idx.line_text(2) == "cd"
    assert idx.line_text(4) == "ef"
