"""Importing migra and schemainspect, which are frozen upstream (docs/engine-notes.md)."""

from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path
from typing import Any


def load() -> None:
    """Import schemainspect without `pkg_resources` (docs/engine-notes.md, "pkg_resources").

    schemainspect imports `pkg_resources` only to read its bundled .sql files. setuptools 81
    removed that module, and 67-80 warn when it is imported; it may not be installed at all.
    While schemainspect is imported, a stand-in that reads those files beside the module takes
    its place; whatever the process had under that name before is put back, so nothing else
    sees it.
    """
    if "schemainspect.misc" in sys.modules:
        return
    saved = sys.modules.get("pkg_resources")
    sys.modules["pkg_resources"] = _pkg_resources_stand_in()
    try:
        import schemainspect.misc  # noqa: F401  (binds resource_stream now)
    finally:
        if saved is None:
            del sys.modules["pkg_resources"]
        else:
            sys.modules["pkg_resources"] = saved


def _pkg_resources_stand_in() -> types.ModuleType:
    def resource_stream(module_name: str, resource: str) -> Any:
        # As pkg_resources does: a resource of a module lives beside its file.
        module = importlib.import_module(module_name)
        return (Path(module.__file__ or "").parent / resource).open("rb")

    module = types.ModuleType("pkg_resources")
    module.resource_stream = resource_stream  # type: ignore[attr-defined]
    return module
