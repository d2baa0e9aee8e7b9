"""The package's shape: no import cycle between its modules (HOUSE_STYLE: no import cycles)."""

from __future__ import annotations

import ast
import graphlib
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "schemactl"


def _name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def module_imports() -> dict[str, set[str]]:
    """Each module -> the package modules its module-level statements import."""
    modules = {_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(node, ast.ImportFrom) or not node.level:
                continue
            base = ".".join(
                here[: len(here) - node.level + 1] + ([node.module] if node.module else [])
            )
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                if target in modules and target != name:
                    edges[name].add(target)
    return edges


def test_no_import_cycle() -> None:
    edges = module_imports()
    assert "schemactl.cli.app" in edges["schemactl.cli.schema_commands"]  # the scan sees imports
    try:
        list(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as e:
        raise AssertionError(f"import cycle: {' -> '.join(e.args[1])}") from None


def test_command_modules_share_only_the_public_helpers() -> None:
    for path in (PACKAGE / "cli").glob("*_commands.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private names {private}"


def test_environment_variables_are_read_in_one_documented_place() -> None:
    from schemactl import envvars

    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    for name in envvars.VARIABLES:
        assert f"| `{name}` |" in readme, f"README's variable table lacks {name}"
    for path in PACKAGE.rglob("*.py"):
        if path.name == "envvars.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"environ(?:\.get\(|\[)\s*[\"']SCHEMACTL_", text), (
            f"{path.relative_to(PACKAGE)} reads a SCHEMACTL_ variable itself: use envvars"
        )


def test_every_command_entry_point_is_named_in_the_api() -> None:
    import schemactl
    from schemactl import api

    named = set(api.DEFINED_HERE) | set(api.RESULTS) | set(api.ELSEWHERE)
    assert set(schemactl.__all__) - {"load_config", "Config", "SchemactlError", "__version__"} == (
        named
    )
    for name in sorted(named):
        assert callable(getattr(api, name)), name  # each resolves, where the map says
    typed = (PACKAGE / "api.py").read_text(encoding="utf-8")
    for name in api.ELSEWHERE:  # … and type checkers see it too
        assert f"import {name} as {name}\n" in typed, f"api.py's TYPE_CHECKING block lacks {name}"
