"""Matching request paths against compiled templates, and route precedence.

Decoding follows http.proto and Envoy's default (grpc-gateway's `AllExceptReserved`):
the path is split on raw `/` first, single-segment variables are fully
percent-decoded, multi-segment ones keep `%2F`, so an encoded slash stays inside its
variable instead of breaking routing. A malformed escape is a 400.

A `*` (and so a `{var}`) needs a non-empty segment, so a trailing slash is another
path (404), never an empty id; `**` may match nothing.

Precedence: a literal segment beats `*`, which beats `**`, compared left to right, and
a template with a verb beats one without. That is the order Envoy's trie tries
(literal, then variable, then `**`); grpc-gateway's "last registered wins" is the
long-standing complaint this avoids. Equal templates keep registration order.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass

from services.gateway.runtime.errors import invalid_argument
from services.gateway.runtime.route import DEEP_WILDCARD, WILDCARD, PathTemplate, Route

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ENCODED_SLASH = re.compile(r"%2[fF]")
FieldPath = tuple[str, ...]


def _unquote(raw: str) -> str:
    if _BAD_ESCAPE.search(raw):
        raise invalid_argument(f"malformed percent-encoding in path segment {raw!r}")
    try:
        return urllib.parse.unquote(raw, errors="strict")
    except UnicodeDecodeError as exc:
        raise invalid_argument(f"path segment {raw!r} is not valid UTF-8") from exc


def _unquote_keep_slash(raw: str) -> str:
    return "%2F".join(_unquote(part) for part in _ENCODED_SLASH.split(raw))


class RequestPath:
    """A request path split once into raw and decoded segments."""

    def __init__(self, raw_path: str) -> None:
        body = raw_path[1:] if raw_path.startswith("/") else raw_path
        self.raw: list[str] = body.split("/") if body else []
        self.decoded: list[str] = [_unquote(part) for part in self.raw]


def match_template(template: PathTemplate, path: RequestPath) -> list[tuple[FieldPath, str]] | None:
    """The variable bindings when `path` matches `template`, else None."""
    raw, decoded = path.raw, path.decoded
    if template.verb:
        if not raw:
            return None
        suffix = ":" + template.verb
        if not raw[-1].endswith(suffix):
            return None
        last_raw = raw[-1][: -len(suffix)]
        raw = [*raw[:-1], last_raw]
        decoded = [*decoded[:-1], _unquote(last_raw)]
    segments = template.segments
    deep = bool(segments) and segments[-1] == DEEP_WILDCARD
    fixed = len(segments) - 1 if deep else len(segments)
    if len(raw) < fixed or (not deep and len(raw) != fixed):
        return None
    for index in range(fixed):
        segment = segments[index]
        if segment == WILDCARD:
            if not raw[index]:
                return None  # an empty segment binds nothing: `/tasks/` is not `/tasks/{id}`
        elif segment != decoded[index]:
            return None
    bindings: list[tuple[FieldPath, str]] = []
    for var in template.variables:
        end = len(raw) if deep and var.end == len(segments) else var.end
        if var.end - var.start > 1 or (deep and var.end == len(segments)):
            bindings.append((var.field_path, _unquote_keep_slash("/".join(raw[var.start : end]))))
        else:
            bindings.append((var.field_path, decoded[var.start]))
    return bindings


def precedence(template: PathTemplate) -> tuple[tuple[int, ...], int]:
    """Sort key: literal < `*` < `**` per segment, left to right; verbs first on ties."""
    ranks = tuple(2 if s == DEEP_WILDCARD else 1 if s == WILDCARD else 0 for s in template.segments)
    return ranks, 0 if template.verb else 1


@dataclass(frozen=True)
class Match:
    route: Route
    bindings: list[tuple[FieldPath, str]]


class Router:
    """Routes per HTTP method, pre-sorted by precedence at construction."""

    def __init__(self, routes: Iterable[Route]) -> None:
        by_method: dict[str, list[Route]] = {}
        for route in routes:
            by_method.setdefault(route.http_method, []).append(route)
        self._routes = {
            method: sorted(items, key=lambda r: precedence(r.template))
            for method, items in by_method.items()
        }

    @property
    def methods(self) -> tuple[str, ...]:
        return tuple(sorted(self._routes))

    def find(self, method: str, path: RequestPath) -> Match | None:
        for route in self._routes.get(method, ()):
            bindings = match_template(route.template, path)
            if bindings is not None:
                return Match(route, bindings)
        return None

    def allowed_methods(self, path: RequestPath) -> list[str]:
        """Methods that would match `path`: non-empty means 501 rather than 404."""
        return [m for m in self.methods if self.find(m, path) is not None]
