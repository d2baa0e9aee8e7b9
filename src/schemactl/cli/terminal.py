"""The command line's process edges: global options written after the command, and an
output stream whose reader went away (`schemactl status | head`)."""

from __future__ import annotations

import os
import sys
from typing import Any

# Options of the main callback that take no value and may also be written after the command
# (`schemactl check -q`); no command defines options of these names.
_FLAGS = {"-q", "--quiet", "-v", "--verbose"}
# Options of the main callback that take a value (their value is not a command name).
_WITH_VALUE = {"-C", "--project", "--pg-version", "--dev-url"}


def hoist_global_flags(args: list[str]) -> list[str]:
    """Move -q/-v (and -vv...) found after the command name to before it, where typer reads them."""
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--" or not a.startswith("-"):
            break
        i += 2 if a in _WITH_VALUE else 1
    if i >= len(args) or args[i] == "--":
        return args
    head, command, rest = args[:i], args[i], args[i + 1 :]
    moved: list[str] = []
    kept: list[str] = []
    for n, a in enumerate(rest):
        if a == "--":
            kept += rest[n:]
            break
        is_flag = a in _FLAGS or (
            len(a) > 2 and a[0] == "-" and a[1] != "-" and set(a[1:]) == {"v"}
        )
        (moved if is_flag else kept).append(a)
    return [*head, *moved, command, *kept]


class PipeSafeStdout:
    """stdout that, once its reader has closed the pipe, drops the rest of the output instead of
    raising: the command still finishes and exits with its own code (a `check | head` that
    found drift must still fail)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._gone()
        return len(text)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._gone()

    def _gone(self) -> None:
        self.reader_gone = True
        # Point the descriptor at /dev/null so the interpreter's last flush fails neither.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def install() -> None:
    """Reorder sys.argv's global flags and make stdout pipe-safe."""
    sys.argv[1:] = hoist_global_flags(sys.argv[1:])
    if not isinstance(sys.stdout, PipeSafeStdout):
        sys.stdout = PipeSafeStdout(sys.stdout)
