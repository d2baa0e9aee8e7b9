"""The import path the README gives Python migrations (`schemactl.pymigration.Connection`,
`Listener`): a migration file that names it is history (its checksum is recorded), so the
path outlives the move of the code to `project/pymigration.py`."""

from .project.pymigration import Connection, Listener, Params, Progress

__all__ = ["Connection", "Listener", "Params", "Progress"]
