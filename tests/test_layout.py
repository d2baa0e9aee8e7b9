"""The package's shape: wings that import only the wings below them, no import cycle
(HOUSE_STYLE), as `scripts/layout.py` reads them from the syntax tree."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import textwrap
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "schemactl"
SCRIPT = PACKAGE.parents[1] / "scripts" / "layout.py"


def _layout():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("layout", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["layout"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_wings_import_only_what_their_init_allows_and_nothing_cycles() -> None:
    layout = _layout()
    report = layout.read()
    assert "schemactl.cli.app" in layout.imports()["schemactl.cli.schema_commands"]  # it sees
    assert {"project", "scratch", "engine", "verification", "targets", "cli"} <= set(report.wings)
    assert report.floor == ["errors", "version"]
    assert not report.unruled, f"wings without a `May import:` line: {report.unruled}"
    assert not report.cycles, f"import cycles: {report.cycles}"
    assert not report.upward, "imports against the wing rules:\n" + "\n".join(report.upward)
    assert len(report.top_level) <= 10, report.top_level
    assert layout.main([]) == 0


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "schemactl" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "schemactl"


def test_the_layout_script_catches_an_upward_import_a_cycle_and_a_missing_rule(
    tmp_path: Path,
) -> None:
    layout = _layout()
    package = _package(
        tmp_path,
        {
            "__init__.py": '"""Floor: errors."""\n',
            "errors.py": "",
            "api.py": "from .high import top\n",
            "low/__init__.py": '"""Below.\n\nMay import: the floor."""\n',
            "low/base.py": "from .. import errors\n\ndef f():\n    from ..high import top\n",
            "high/__init__.py": '"""Above.\n\nMay import: low."""\n',
            "high/top.py": "from ..low import base\nfrom . import ring\n",
            "high/ring.py": "from .top import x\n",
            "loose/__init__.py": '"""No rule written."""\n',
        },
    )
    report = layout.read(package)
    assert report.upward == [
        "schemactl.low.base -> schemactl.high.top: low may import the floor"
    ]  # found inside a function too
    assert report.cycles == [["schemactl.high.ring", "schemactl.high.top", "schemactl.low.base"]]
    assert report.unruled == ["loose"]
    assert report.top_level == ["api", "errors"]
    assert not report.ok


def test_import_paths_the_readme_documents_resolve() -> None:
    readme = (PACKAGE.parents[1] / "README.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`(schemactl(?:\.[a-z_]+)+\.[A-Z]\w*)", readme))
    assert "schemactl.pymigration.Connection" in paths
    for path in sorted(paths):
        module, _, name = path.rpartition(".")
        assert hasattr(importlib.import_module(module), name), path


def test_command_modules_share_only_the_public_helpers() -> None:
    for path in (PACKAGE / "cli").glob("*_commands.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private names {private}"


def test_environment_variables_are_read_in_one_documented_place() -> None:
    from schemactl.project import envvars

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
