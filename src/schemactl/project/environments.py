"""Target databases by name: `[environments.NAME]` in the config, one database (`url`) or a
fleet of them (`urls`, `urls_from`, `urls_query`), with `${VAR}` read from the environment
when a URL is used."""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Environment:
    """A named target database, or a fleet of them (`urls`, `urls_from`, `urls_query`: see
    fleet.py); every URL may hold `${VAR}` references, resolved on use."""

    name: str
    url: str = ""  # the database (with urls_query: the one that lists the fleet)
    urls: tuple[str, ...] = ()
    urls_from: str | None = None  # a file, one URL per line (relative to the project)
    urls_query: str | None = None  # SQL run on `url`, one URL per row
    production: bool = False  # `push` refuses it: production changes only through migrations
    cost_factor: float = 1.0  # projections (targets/cost.py) times this: the target's speed
    budgets: tuple[tuple[str, str], ...] = ()  # max_exclusive_lock, max_rewrite: durations

    @property
    def is_fleet(self) -> bool:
        return bool(self.urls or self.urls_from or self.urls_query)


# What a pending migration's projection may reach before `apply` and `plan` refuse it.
BUDGETS = ("max_exclusive_lock", "max_rewrite")
_DURATION = re.compile(r"\s*\d+(?:\.\d+)?\s*(?:ms|s|min|h)\s*")


def parse_environment(where: str, name: str, table: Any) -> Environment:
    keys = ("url", "urls", "urls_from", "urls_query")
    if not isinstance(table, dict) or not any(k in table for k in keys[:3]):
        raise ConfigError(
            f"{where}: environments.{name} must be a table with a 'url' (or, for many "
            "databases, 'urls', 'urls_from' or 'urls_query')"
        )
    if extra := sorted(set(table) - {*keys, "production", "cost_factor", *BUDGETS}):
        raise ConfigError(f"{where}: unknown setting 'environments.{name}.{extra[0]}'")
    for key in ("url", "urls_from", "urls_query"):
        if key in table and (not isinstance(table[key], str) or not table[key].strip()):
            raise ConfigError(f"{where}: environments.{name}.{key} must be a non-empty string")
    urls = table.get("urls", [])
    if not isinstance(urls, list) or not all(isinstance(u, str) and u for u in urls):
        raise ConfigError(f"{where}: environments.{name}.urls must be a list of URLs")
    if "urls_query" in table and "url" not in table:
        raise ConfigError(
            f"{where}: environments.{name}.urls_query needs a 'url' to run on",
            hint="url is the database that lists the fleet, e.g. a tenants table",
        )
    if not isinstance(table.get("production", False), bool):
        raise ConfigError(f"{where}: environments.{name}.production must be true or false")
    factor = table.get("cost_factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        raise ConfigError(
            f"{where}: environments.{name}.cost_factor must be a number above 0",
            hint="2 when the target is half as fast as this machine, 0.5 when twice",
        )
    for key in BUDGETS:
        if key in table and not (isinstance(table[key], str) and _DURATION.fullmatch(table[key])):
            raise ConfigError(
                f"{where}: environments.{name}.{key} must be a duration",
                hint='write e.g. "500ms", "2s", "1min", "1h"',
            )
    return Environment(
        name,
        table.get("url", ""),
        tuple(urls),
        table.get("urls_from"),
        table.get("urls_query"),
        table.get("production", False),
        float(factor),
        tuple((k, table[k]) for k in BUDGETS if k in table),
    )


def interpolate(value: str, setting: str) -> str:
    """Replace `${VAR}` with the environment variable's value; unset variables are errors.

    A value is put into the part of the connection string it stands in, encoded for it: inside
    a URL (after `scheme://`) percent-encoded, so that a password such as `Tr0ub4dor@Horse9`
    stays a password and never becomes part of the host name libpq then prints; after `key=`
    in a key=value string, single-quoted. A reference that holds the whole URL is taken as it
    is."""
    scheme = value.find("://")
    authority_end = next((i for i in range(scheme + 3, len(value)) if value[i] in "/?"), len(value))

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(
                f"setting {setting} uses ${{{name}}}, which is not set in the environment",
                hint=f"export {name}=... before running schemactl",
            )
        text = os.environ[name]
        if 0 <= scheme < m.start():
            # host[:port][,host…] keeps its separators; a user, password, database or query
            # value is encoded whole
            host = "@" not in value[m.end() : authority_end] and m.end() <= authority_end
            return urllib.parse.quote(text, safe=":,[]" if host else "")
        before = value[: m.start()]
        escaped = text.replace("\\", "\\\\").replace("'", "\\'")
        if scheme < 0 and before.endswith("'"):  # key='${VAR}': already quoted
            return escaped
        if scheme < 0 and before.rstrip().endswith("="):
            return f"'{escaped}'"
        return text

    return _ENV_REF.sub(sub, value)
