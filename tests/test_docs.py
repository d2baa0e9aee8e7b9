"""The documentation stays true: the CLI reference is regenerated and compared, and every
command is documented in it and in the README."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _reference_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "scripts" / "cli_reference.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_cli_reference_is_up_to_date() -> None:
    ref = _reference_module()
    assert (ROOT / "docs" / "cli.md").read_text(encoding="utf-8") == ref.render(), (
        "docs/cli.md is out of date: run python scripts/cli_reference.py"
    )


def test_every_command_is_documented() -> None:
    commands = _reference_module().commands()
    assert len(commands) >= 12
    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {m.group(1) for m in re.finditer(r"^\| `schemactl ([a-z-]+)", readme, re.M)}
    for name in commands:
        assert f"\n## schemactl {name}\n" in reference, name
        assert name in table, f"{name} is missing from the README's command table"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    assert "schemactl diff" in commands[0] and "pytest" in commands[1]


def test_the_readme_module_map_names_every_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Development", 1)[1].split("```", 2)[1]
    mapped: set[str] = set()
    folders: list[str] = []  # the enclosing folders, one per two columns of indent
    for m in re.finditer(r"^  ((?:  )*)([a-z_]+(?:\.py|/))\s", block, re.M):
        depth = len(m.group(1)) // 2
        folders = folders[:depth]
        if m.group(2).endswith("/"):
            folders.append(m.group(2))
        else:
            mapped.add("".join(folders) + m.group(2))
    package = ROOT / "src" / "schemactl"
    modules = {
        str(p.relative_to(package)) for p in package.rglob("*.py") if not p.name.startswith("__")
    }
    assert mapped == modules, (
        f"README's module map lacks {sorted(modules - mapped)}, "
        f"names gone {sorted(mapped - modules)}"
    )


def test_the_readme_names_only_kinds_that_are_not_diffed() -> None:
    from schemactl.engine.kinds import NOT_DIFFED

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    listed = re.search(r"does not diff at all \(([^)]*)\)", readme)
    assert listed is not None
    for name in (n.strip() for n in listed[1].split(",")):
        if name in ("...", "…"):
            continue
        kind = name.upper().removesuffix("S").removeprefix("FOREIGN ")
        assert any(k.endswith(kind) for k in NOT_DIFFED), f"{name} is diffed: drop it from there"
