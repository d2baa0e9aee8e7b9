"""The command line: parse options, call the library, print, exit (`main`).

A package of command modules that share only the public helpers of `shared`; importing them
registers their commands on the one typer app (`app`), in the order `--help` lists them.

May import: every wing.
"""

# Registration order is the order `--help` lists the commands: the main job first.
# isort: off
from . import schema_commands, project_commands, db_commands, push_commands, plan_commands  # noqa: F401
from . import ledger_commands  # noqa: F401

# isort: on
from .app import app, main

__all__ = ["app", "main"]
