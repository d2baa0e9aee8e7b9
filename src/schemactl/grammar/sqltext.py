"""Lexical helpers for SQL text: statement splitting and offset → line:column mapping.

A full parser is not needed: splitting must only respect the places where `;` does not end
a statement (quotes, dollar quotes, comments, `BEGIN ATOMIC` bodies). The scanner jumps
between interesting characters with a regex, so a 50 MB file splits in well under a second.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# One alternative per thing that changes the scanner's state.
_TOKEN = re.compile(
    r"""
    (?P<semi>;)
  | (?P<line_comment>--)
  | (?P<block_comment>/\*)
  | (?P<estring>(?<![A-Za-z0-9_])[eE]')
  | (?P<squote>')
  | (?P<dquote>")
  | (?P<dollar>\$(?:(?:[A-Za-z_]|[^\x00-\x7f])(?:[A-Za-z0-9_]|[^\x00-\x7f])*)?\$)
  | (?P<meta>(?:^|(?<=\n))[ \t]*\\)
  | (?P<word>\b(?i:begin|case|end|atomic)\b)
    """,
    # Case folded only where it matters, and non-ASCII as a negated ASCII range: IGNORECASE and
    # a range up to \uffff made compiling this 12 ms of every command's start (now 0.3 ms).
    re.VERBOSE,
)


@dataclass(frozen=True)
class Statement:
    """One statement of a script: its text (without the `;`) and where it starts."""

    text: str  # from its first character, leading comments included (directives live there)
    offset: int  # character offset of the statement's first character in the script

    @property
    def lead(self) -> int:
        """How many characters of leading comments and blanks come before the first token."""
        return leading_comments(self.text)

    @property
    def body(self) -> str:
        """The statement from its first token: without the comments before it."""
        return self.text[self.lead :]


@dataclass(frozen=True)
class MetaCommand:
    """A psql backslash command found outside any quote or comment."""

    offset: int
    text: str


class SplitError(ValueError):
    """Unterminated quote or comment; `offset` is where it starts."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def split(sql: str) -> tuple[list[Statement], list[MetaCommand]]:
    """Split a script into statements; also return any psql meta-commands found."""
    statements: list[Statement] = []
    metas: list[MetaCommand] = []
    start = 0
    pos = 0
    atomic_depth = 0  # inside CREATE FUNCTION ... BEGIN ATOMIC ... END
    last_word = ""
    n = len(sql)
    while pos < n:
        m = _TOKEN.search(sql, pos)
        if m is None:
            break
        kind = m.lastgroup
        pos = m.end()
        if kind == "semi":
            if atomic_depth == 0:
                _add(statements, sql, start, m.start())
                start = pos
                last_word = ""
        elif kind == "line_comment":
            nl = sql.find("\n", pos)
            pos = n if nl < 0 else nl + 1
        elif kind == "block_comment":
            pos = _skip_block_comment(sql, m.start())
        elif kind == "squote":
            pos = _skip_quoted(sql, pos, "'", m.start(), "string")
        elif kind == "estring":
            pos = _skip_estring(sql, pos, m.start())
        elif kind == "dquote":
            pos = _skip_quoted(sql, pos, '"', m.start(), "quoted identifier")
        elif kind == "dollar":
            # `$1` params and identifiers like a$b$ are not dollar quotes.
            if m.start() > 0 and (sql[m.start() - 1].isalnum() or sql[m.start() - 1] == "_"):
                pos = m.start() + 1
                continue
            tag = m.group()
            end = sql.find(tag, pos)
            if end < 0:
                raise SplitError(f"unterminated dollar-quoted string {tag}", m.start())
            pos = end + len(tag)
        elif kind == "meta":
            nl = sql.find("\n", pos)
            line_end = n if nl < 0 else nl
            metas.append(MetaCommand(m.end() - 1, sql[m.end() - 1 : line_end].strip()))
            pos = line_end
        elif kind == "word":
            word = m.group().lower()
            if word == "atomic" and last_word == "begin":
                atomic_depth += 1
            elif atomic_depth and word == "case":
                atomic_depth += 1
            elif atomic_depth and word == "end":
                atomic_depth -= 1
            last_word = word
    _add(statements, sql, start, n)
    return statements, metas


def _add(out: list[Statement], sql: str, start: int, end: int) -> None:
    text = sql[start:end]
    stripped = strip_comments(text).strip()
    if stripped:
        lead = len(text) - len(text.lstrip())
        out.append(Statement(text.strip(), start + lead))


def _skip_quoted(sql: str, pos: int, quote: str, start: int, what: str) -> int:
    while True:
        end = sql.find(quote, pos)
        if end < 0:
            raise SplitError(f"unterminated {what}", start)
        if sql.startswith(quote * 2, end):  # doubled quote is an escaped quote
            pos = end + 2
            continue
        return end + 1


def _skip_estring(sql: str, pos: int, start: int) -> int:
    i = pos
    n = len(sql)
    while i < n:
        c = sql[i]
        if c == "\\":
            i += 2
        elif c == "'":
            if sql.startswith("''", i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    raise SplitError("unterminated string", start)


def _skip_block_comment(sql: str, start: int) -> int:
    depth = 0
    i = start
    while True:
        op = sql.find("/*", i)
        cl = sql.find("*/", i)
        if cl < 0:
            raise SplitError("unterminated /* comment", start)
        if 0 <= op < cl:
            depth += 1
            i = op + 2
        else:
            depth -= 1
            i = cl + 2
            if depth == 0:
                return i


def leading_comments(text: str) -> int:
    """The length of the blanks and comments at the start of `text`."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl + 1
        elif text.startswith("/*", i):
            try:
                i = _skip_block_comment(text, i)
            except SplitError:
                return i
        else:
            break
    return i


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.DOTALL)


def strip_comments(text: str) -> str:
    """Remove comments from a statement (a quick pass; quotes are not respected)."""
    if "--" not in text and "/*" not in text:
        return text
    return _COMMENTS.sub(" ", text)


def one_line(text: str) -> str:
    """A statement on one line, without comments: as findings name it, and as they are
    looked up by (the sample-row trial writes them so; `plan` finds its statements so)."""
    return " ".join(strip_comments(text).split())


class LineIndex:
    """Maps character offsets of a text to 1-based (line, column)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based line and column of a 0-based character offset."""
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1

    def line_text(self, line: int) -> str:
        """Return the text of a 1-based line, without its newline."""
        start = self._starts[line - 1]
        end = self._starts[line] - 1 if line < len(self._starts) else len(self.text)
        return self.text[start:end]
