"""A small YAML writer for the Envoy bootstrap, so the runtime needs no YAML library.

Only what a bootstrap holds: mappings with string keys, lists, strings, numbers,
booleans and null, in block style. Strings are written plain when they cannot be
read back as anything else, and JSON-quoted otherwise (a JSON string is a valid YAML
double-quoted scalar), so the output parses to exactly the input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*")
# Words YAML 1.1 loaders read as booleans or null.
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null"})


def dump(document: Mapping[str, Any], *, header: str = "") -> str:
    """The YAML text of `document`, preceded by `header` as `#` comment lines."""
    comments = [f"# {line}".rstrip() for line in header.splitlines()]
    return "\n".join([*comments, *_block(document, 0)]) + "\n"


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and len(value) > 0


def _block(value: Mapping[str, Any] | Sequence[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = _key(key)
            if _is_block(item):
                lines.append(f"{pad}{name}:")
                lines.extend(_block(item, indent + 2))
            elif _is_literal(item):
                # Source code (the Lua filter) stays readable as a literal block.
                # `|` keeps the one final newline, `|-` marks its absence.
                chomp = "|" if item.endswith("\n") else "|-"
                lines.append(f"{pad}{name}: {chomp}")
                lines.extend(f"{pad}  {line}".rstrip() for line in item.rstrip("\n").split("\n"))
            else:
                lines.append(f"{pad}{name}: {_scalar(item)}")
        return lines
    for item in value:
        if _is_block(item):
            inner = _block(item, indent + 2)
            lines.append(f"{pad}- {inner[0].lstrip()}")
            lines.extend(inner[1:])
        else:
            lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _is_literal(value: Any) -> bool:
    if not isinstance(value, str) or "\n" not in value.rstrip("\n"):
        return False
    lines = value.split("\n")
    return (
        not value.endswith("\n\n")
        and not value.startswith((" ", "\n"))
        and all(line == line.rstrip() and line.isprintable() for line in lines)
    )


def _key(key: str) -> str:
    return key if _PLAIN_KEY.fullmatch(key) and key.lower() not in _RESERVED else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        plain = _PLAIN_VALUE.fullmatch(value) and value.lower() not in _RESERVED
        return value if plain else json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")
