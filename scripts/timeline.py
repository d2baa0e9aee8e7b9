#!/usr/bin/env python3
"""Where one `diff` spends its time: each step of its flow (verification/flow.py), the scratch
server's start and close, and the progress lines, on one timeline (seconds since the start).

  python scripts/timeline.py PROJECT_DIR [NAME]   # NAME: write the pair; default: --print

It runs `schemactl.api.diff` in this process, with the environment's SCHEMACTL_CACHE_DIR, so
the steps a cache spares show as such. The profiles in docs/performance.md were taken with it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from schemactl import api
from schemactl.project.config import load_config
from schemactl.scratch import pgserver
from schemactl.verification import flow

T0 = time.perf_counter()
marks: list[tuple[str, float, float]] = []


def _timed(name: str, fn: Any) -> Any:
    def run(*args: Any, **kw: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            marks.append((name, start - T0, time.perf_counter() - T0))

    return run


def main() -> int:
    run = flow.Flow.run
    flow.Flow.run = lambda self, name, fn, *a, after=(): run(  # type: ignore[method-assign]
        self, name, _timed(name, fn), *a, after=after
    )
    pgserver.EphemeralServer.__init__ = _timed(  # type: ignore[method-assign]
        "start", pgserver.EphemeralServer.__init__
    )
    pgserver.EphemeralServer.close = _timed("close", pgserver.EphemeralServer.close)  # type: ignore[method-assign]
    said: list[tuple[float, str]] = []
    name = sys.argv[2] if len(sys.argv) > 2 else None
    result = api.diff(
        load_config(Path(sys.argv[1])),
        name,
        print_only=name is None,
        progress=lambda m: said.append((time.perf_counter() - T0, m)),
    )
    for step, a, b in sorted(marks, key=lambda m: m[1]):
        print(f"{step:<14} {a:6.2f} → {b:6.2f}  ({b - a:5.2f})")
    for t, line in said:
        print(f"  {t:6.2f} {line}")
    print(f"total {time.perf_counter() - T0:.2f} s: {result.status}, verified {result.verified}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
