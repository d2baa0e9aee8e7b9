#!/usr/bin/env python3
"""Write docs/cli.md, the command-line reference, from the commands' own help text.

    python scripts/cli_reference.py          # rewrite docs/cli.md
    python scripts/cli_reference.py --check  # exit 1 if docs/cli.md is out of date

`tests/test_docs.py` runs the check, so the reference cannot drift from the code.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
WIDTH = 100


def commands() -> list[str]:
    """Every command, in the order `schemactl --help` lists them."""
    import typer

    from schemactl.cli import app

    return list(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def help_text(args: list[str]) -> str:
    from typer.testing import CliRunner

    from schemactl.cli import app

    result = CliRunner().invoke(
        app,
        [*args, "--help"],
        env={"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"},
        terminal_width=WIDTH,
    )
    if result.exit_code != 0:
        raise SystemExit(f"`schemactl {' '.join(args)} --help` failed: {result.output}")
    return result.output.rstrip() + "\n"


def render() -> str:
    parts = [
        "# Command-line reference\n\n",
        "Generated from the commands' help by `python scripts/cli_reference.py`; "
        "`tests/test_docs.py` fails when it is out of date. Exit codes and configuration are in "
        "the "
        "[README](../README.md).\n\n",
        "## schemactl\n\n```text\n",
        help_text([]),
        "```\n",
    ]
    for name in commands():
        parts += [f"\n## schemactl {name}\n\n```text\n", help_text([name]), "```\n"]
    return "".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not DOC.exists() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is out of date; run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
