"""Importing migra and schemainspect, which are frozen upstream (docs/engine-notes.md)."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

_LOADING = threading.Lock()  # two inspections start on two threads at once


def load() -> None:
    """Import schemainspect without `pkg_resources` (docs/engine-notes.md, "pkg_resources"),
    and without its `inspect.stack()` calls.

    schemainspect imports `pkg_resources` only to read its bundled .sql files. setuptools 81
    removed that module, and 67-80 warn when it is imported; it may not be installed at all.
    While schemainspect is imported, a stand-in that reads those files beside the module takes
    its place; whatever the process had under that name before is put back, so nothing else
    sees it.

    It names the module whose files it reads with `inspect.stack()`, which builds every
    frame's source context and searches `sys.modules` for each frame: its 16 query files cost
    0.15-0.6 s of import (docs/performance.md). So `schemainspect.misc` is executed first, on
    its own, given a caller lookup that reads the frame's module name, and then the package is
    imported around it.
    """
    with _LOADING:
        if "schemainspect" in sys.modules:
            return
        saved = sys.modules.get("pkg_resources")
        sys.modules["pkg_resources"] = _pkg_resources_stand_in()
        try:
            package = importlib.util.find_spec("schemainspect")
            where = package.submodule_search_locations if package else None
            if not where:
                raise ImportError("schemainspect is not installed", name="schemainspect")
            spec = importlib.util.spec_from_file_location(
                "schemainspect.misc", Path(list(where)[0]) / "misc.py"
            )
            assert spec is not None and spec.loader is not None
            misc = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(misc)  # binds the stand-in's resource_stream
            vars(misc)["external_caller"] = _external_caller
            sys.modules["schemainspect.misc"] = misc
            try:
                import schemainspect
            except BaseException:
                sys.modules.pop("schemainspect.misc", None)
                raise
            schemainspect.misc = misc
        finally:
            if saved is None:
                del sys.modules["pkg_resources"]
            else:
                sys.modules["pkg_resources"] = saved


_PRELOADING: list[threading.Thread] = []


def preload(then: Callable[[], object] = lambda: None) -> None:
    """Start importing SQLAlchemy, schemainspect and migra on a thread of their own (≈0.4 s),
    then run `then` there, while the caller loads databases: they are needed once a database
    is inspected, or a kept inspection read. Whatever imports them elsewhere calls `ready`
    first. A failure here is left to the import that needs it."""
    if _PRELOADING or "migra" in sys.modules:
        return

    def run() -> None:
        with contextlib.suppress(Exception):
            load()
            import migra  # noqa: F401
            import sqlalchemy.dialects.postgresql.psycopg2  # noqa: F401

            then()

    thread = threading.Thread(target=run, name="schemactl-imports", daemon=True)
    _PRELOADING.append(thread)
    thread.start()


def ready() -> None:
    """Wait for `preload`'s imports, then import schemainspect (`load`). Two threads importing
    one package's modules at once can fail ("partially initialized module"), so nothing
    imports SQLAlchemy, schemainspect or migra while `preload` does."""
    for thread in _PRELOADING:
        thread.join()
    load()


def _external_caller() -> str:
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__") == "schemainspect.misc":
        frame = frame.f_back
    return str(frame.f_globals["__name__"])


def _pkg_resources_stand_in() -> types.ModuleType:
    def resource_stream(module_name: str, resource: str) -> Any:
        # As pkg_resources does: a resource of a module lives beside its file.
        module = importlib.import_module(module_name)
        return (Path(module.__file__ or "").parent / resource).open("rb")

    module = types.ModuleType("pkg_resources")
    module.resource_stream = resource_stream  # type: ignore[attr-defined]
    return module
