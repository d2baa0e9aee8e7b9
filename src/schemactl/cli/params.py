"""Option values converted without pydantic.

typer 0.29 converts every parameter's value through a pydantic TypeAdapter it builds per
parameter: importing pydantic and building the adapters cost ≈ 0.1 s of every command's start
(a third of `apply`'s time before its first statement; docs/performance.md, third round). The
annotations schemactl's options use (str, bool, int, float, Path, an Enum, a list of str) need no
schema: they are converted here, with typer's own error for a bad value; anything else goes
to typer's adapter as before. typer is pinned (pyproject.toml), and tests/test_cli.py runs a
bad value of each kind through the real command line.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import _coercion, core
from typer._click.exceptions import BadParameter

_SIMPLE: dict[Any, str] = {
    str: "text",
    int: "integer",
    float: "number",
    bool: "boolean",
    Path: "path",  # with none of typer's checks (exists=, resolve_path=, …): `_build`
}


@dataclass(frozen=True)
class _Plain(_coercion.RuntimeParam):
    """A value of a plain type, or a list of them."""

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        annotation: Any = self.annotation
        if get_origin(annotation) is list:
            (item,) = get_args(annotation)
            return [_convert(item, v, param, ctx) for v in value]
        return _convert(annotation, value, param, ctx)


def _convert(kind: Any, value: Any, param: Any, ctx: Any) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    try:
        if isinstance(kind, type) and issubclass(kind, enum.Enum):
            return kind(value)
        if kind is bool:
            return {"true": True, "1": True, "false": False, "0": False}[str(value).lower()]
        return kind(value)
    except (ValueError, KeyError):
        if kind in _SIMPLE:
            said = f"{value!r} is not a valid {_SIMPLE[kind]}."
        else:
            said = f"{value!r} is not one of {', '.join(repr(m.value) for m in kind)}."
        raise BadParameter(said, ctx=ctx, param=param) from None


def _plain(annotation: Any) -> bool:
    if get_origin(annotation) is list:
        (item,) = get_args(annotation) or (None,)
        return item is str
    return annotation in _SIMPLE or (
        isinstance(annotation, type) and issubclass(annotation, enum.Enum)
    )


_typer_own = _coercion.build_runtime_param


def _build(descriptor: _coercion.TypeDescriptor) -> _coercion.RuntimeParam:
    info = descriptor.parameter_info
    checked = (info.exists, info.writable, info.resolve_path, info.allow_dash, info.path_type)
    if (
        descriptor.file_annotation is None
        and info.parser is None
        and info.min is None
        and info.max is None
        and not any(checked)
        and _plain(descriptor.annotation)
    ):
        return _Plain(parameter_info=info, annotation=descriptor.annotation)
    return _typer_own(descriptor)


def install() -> None:
    """Convert plain option values here (see the module docstring)."""
    setattr(core, "build_runtime_param", _build)  # noqa: B010  (not in typer's public API)
