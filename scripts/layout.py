#!/usr/bin/env python3
"""The package's import graph, read from the syntax tree: its wings, cycles, and the imports
that run up against the rules each wing's `__init__.py` writes down.

    python scripts/layout.py                # report; exit 1 when a rule is broken
    python scripts/layout.py --json         # the same, for a script
    python scripts/layout.py --plan F.json  # a tree before it was grouped (see `read`)

Every import counts, wherever it stands (inside a function, under TYPE_CHECKING): a lazy
import is still a dependency, only a later one. The rules: a wing's docstring has a line
`May import: a, b.` naming the wings below it (or `every wing`); the package's docstring a
line `Floor: x, y.` naming the top-level modules any module may import (they import only each
other); every other top-level module is roof, free to import anything and imported by none
but the roof. `tests/test_layout.py` runs this, so the layout stays the architecture.
"""

from __future__ import annotations

import argparse
import ast
import graphlib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "schemactl"
ROOT = PACKAGE.name
EVERY = "every wing"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Each module -> the package's modules it imports, anywhere in its body."""
    modules = {module_name(p, package): p for p in package.rglob("*.py")}
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
                # `from x import y`: the module x.y where there is one, else x itself
                targets = [f"{base}.{a.name}" for a in node.names]
                targets = [t if t in modules else base for t in targets]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in modules and target != name:
                    edges[name].add(target)
    return edges


def unit(module: str, plan: dict[str, str]) -> str:
    """The wing a module stands in, or its own name for a module directly in the package."""
    if module in plan:
        return plan[module]
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _docstring(path: Path) -> str:
    return ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""


def _names_after(label: str, text: str) -> list[str] | None:
    """The names of a `Label: a, b.` sentence (line breaks allowed), or None without one."""
    match = re.search(rf"(?:^|\s){label}:\s*([^.]+)\.", " ".join(text.split()))
    return [n.strip() for n in match.group(1).split(",")] if match else None


@dataclass
class Report:
    """What a reader of the import graph sees."""

    top_level: list[str]  # modules directly in the package
    wings: dict[str, list[str]]  # wing -> what it may import (EVERY: anything)
    floor: list[str]
    edges: int
    floors: int  # the longest chain of imports, in modules (cycles counted as one)
    cycles: list[list[str]]
    upward: list[str] = field(default_factory=list)  # "a -> b: why it breaks a rule"
    unruled: list[str] = field(default_factory=list)  # wings whose __init__ has no rule

    @property
    def ok(self) -> bool:
        return not (self.cycles or self.upward or self.unruled)


def read(package: Path = PACKAGE, plan: dict[str, Any] | None = None) -> Report:
    """The report of `package`. A `plan` judges a tree by rules it does not carry yet:
    {"modules": {"module": "wing"}, "rules": {"wing": ["may import", ...]}, "floor": [...]}."""
    plan = plan or {}
    assigned = {f"{ROOT}.{k}": v for k, v in plan.get("modules", {}).items()}
    edges = imports(package)
    top = sorted(p.stem for p in package.glob("*.py") if p.stem != "__init__")
    floor = plan.get("floor") or _names_after("Floor", _docstring(package / "__init__.py")) or []
    wings: dict[str, list[str]] = {}
    unruled = []
    for init in sorted(package.glob("*/__init__.py")):
        rule = _names_after("May import", _docstring(init))
        wings[init.parent.name] = rule or []
        if rule is None and init.parent.name not in plan.get("rules", {}):
            unruled.append(init.parent.name)
    wings.update(plan.get("rules", {}))
    report = Report(
        top,
        wings,
        floor,
        sum(map(len, edges.values())),
        0,
        [],
        unruled=unruled,
    )
    for a in sorted(edges):
        for b in sorted(edges[a]):
            why = _breaks(unit(a, assigned), unit(b, assigned), wings, floor)
            if why:
                report.upward.append(f"{a} -> {b}: {why}")
    report.cycles, report.floors = _cycles_and_floors(edges)
    return report


def _breaks(u: str, v: str, wings: dict[str, list[str]], floor: list[str]) -> str:
    if u == v or v in floor:
        return ""
    if u in floor:
        return f"the floor ({u}) imports {v}"
    if u not in wings:
        return ""  # the roof may import anything
    allowed = wings[u]
    if EVERY in allowed or v in allowed:
        return ""
    if v not in wings:
        return f"{u} imports {v}, which stands above every wing"
    return f"{u} may import {', '.join(allowed)}"


def _cycles_and_floors(edges: dict[str, set[str]]) -> tuple[list[list[str]], int]:
    """Strongly connected components of two or more modules, and the longest import chain."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    comps: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the package is small enough for recursion
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            comps.append(sorted(comp))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges)))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    of = {m: i for i, comp in enumerate(comps) for m in comp}
    condensed = {i: {of[w] for m in comp for w in edges[m]} - {i} for i, comp in enumerate(comps)}
    depth: dict[int, int] = {}
    for i in graphlib.TopologicalSorter(condensed).static_order():
        depth[i] = 1 + max((depth[j] for j in condensed[i]), default=0)
    return [c for c in comps if len(c) > 1], max(depth.values(), default=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--plan", type=Path, help="rules for a tree not grouped yet (`read`)")
    parser.add_argument("--package", type=Path, default=PACKAGE)
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text()) if args.plan else None
    r = read(args.package, plan)
    if args.json:
        print(json.dumps(r.__dict__ | {"ok": r.ok}, indent=2))
        return 0 if r.ok else 1
    print(f"modules directly in {ROOT}/: {len(r.top_level)} ({', '.join(r.top_level)})")
    print(f"wings: {len(r.wings)}; floor: {', '.join(r.floor) or 'none written'}")
    print(f"import edges: {r.edges}; floors (longest chain): {r.floors}")
    print(f"cycles: {len(r.cycles)}")
    for c in r.cycles:
        print(f"  {' <-> '.join(c)}")
    print(f"upward imports: {len(r.upward)}")
    for line in r.upward:
        print(f"  {line}")
    for wing in r.unruled:
        print(f"  {wing}/__init__.py has no `May import:` line")
    return 0 if r.ok else 1


if __name__ == "__main__":
    sys.exit(main())
