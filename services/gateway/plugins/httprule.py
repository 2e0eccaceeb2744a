"""The google.api.http path-template parser and compiler, shared by both plugins.

Grammar (google/api/http.proto):

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

Compiling flattens variables into the segment list, so the runtime matches a plain
tuple of literals and wildcards and then slices out each variable's span. Literals
are stored percent-decoded because the runtime compares decoded path segments.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

WILDCARD = "*"
DEEP_WILDCARD = "**"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# RFC 3986 pchar without "*" (a wildcard); "=" only outside variables, where it is
# unambiguous. A ':' inside the final literal is resolved to the verb before matching.
_LITERAL = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()+,;=:@]|%[0-9A-Fa-f]{2})+")


class TemplateError(ValueError):
    """A path template that does not follow the google.api.http grammar."""

    def __init__(self, template: str, problem: str) -> None:
        super().__init__(f"invalid path template {template!r}: {problem}")
        self.template = template
        self.problem = problem


@dataclass(frozen=True)
class Variable:
    """A `{field.path=...}` capture covering segments [start, end) of the template."""

    field_path: tuple[str, ...]
    start: int
    end: int

    @property
    def dotted(self) -> str:
        return ".".join(self.field_path)


@dataclass(frozen=True)
class Template:
    """A compiled template: literal or wildcard segments, an optional verb, the captures."""

    source: str
    segments: tuple[str, ...]
    verb: str
    variables: tuple[Variable, ...]

    @property
    def has_deep_wildcard(self) -> bool:
        return bool(self.segments) and self.segments[-1] == DEEP_WILDCARD


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.segments: list[str] = []
        self.variables: list[Variable] = []

    def fail(self, problem: str) -> TemplateError:
        return TemplateError(self.text, problem)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse(self) -> Template:
        if not self.text.startswith("/"):
            raise self.fail("it must start with '/'")
        self.pos = 1
        if self.text == "/":
            return Template(self.text, (), "", ())
        self.segments_until(stop="")
        verb = ""
        if self.peek() == ":":
            self.pos += 1
            match = _LITERAL.fullmatch(self.text, self.pos)
            if match is None:
                raise self.fail(f"bad verb {self.text[self.pos :]!r}")
            verb = urllib.parse.unquote(match.group())
            self.pos = len(self.text)
        if self.pos != len(self.text):
            raise self.fail(f"unexpected {self.text[self.pos :]!r} at offset {self.pos}")
        self.check_deep_wildcard()
        self.check_duplicates()
        return Template(self.text, tuple(self.segments), verb, tuple(self.variables))

    def segments_until(self, stop: str, inside: bool = False) -> None:
        while True:
            self.segment(inside)
            nxt = self.peek()
            if nxt == "/":
                self.pos += 1
                continue
            if nxt in {stop, ":"} or (not inside and nxt == ""):
                return
            raise self.fail(f"unexpected {nxt!r} at offset {self.pos}")

    def segment(self, inside: bool) -> None:
        rest = self.text[self.pos :]
        if rest.startswith(DEEP_WILDCARD):
            self.segments.append(DEEP_WILDCARD)
            self.pos += 2
        elif rest.startswith(WILDCARD):
            self.segments.append(WILDCARD)
            self.pos += 1
        elif rest.startswith("{"):
            if inside:
                raise self.fail("variables cannot be nested")
            self.variable()
        else:
            self.literal()

    def literal(self) -> None:
        # A final literal may carry the verb: the last ':' of it starts the verb.
        end = self.pos
        while end < len(self.text) and self.text[end] not in "/{}=":
            end += 1
        raw = self.text[self.pos : end]
        if ":" in raw and end == len(self.text):
            raw = raw[: raw.rindex(":")]
        if not raw or _LITERAL.fullmatch(raw) is None:
            shown = raw or self.text[self.pos : end]
            raise self.fail(f"bad segment {shown!r} at offset {self.pos}")
        self.segments.append(urllib.parse.unquote(raw))
        self.pos += len(raw)

    def variable(self) -> None:
        self.pos += 1
        close = self.text.find("}", self.pos)
        if close < 0:
            raise self.fail("unclosed '{'")
        head = self.text[self.pos : close]
        name, _, _ = head.partition("=")
        path = tuple(name.split("."))
        if not all(_IDENT.fullmatch(p) for p in path):
            raise self.fail(f"bad field path {name!r}")
        start = len(self.segments)
        if "=" in head:
            self.pos += len(name) + 1
            if self.peek() == "}":
                raise self.fail(f"empty segments for variable {name!r}")
            self.segments_until(stop="}", inside=True)
            if self.peek() != "}":
                raise self.fail(f"variable {name!r} is not closed")
        else:
            self.pos += len(name)
            self.segments.append(WILDCARD)
        self.pos += 1
        self.variables.append(Variable(path, start, len(self.segments)))

    def check_deep_wildcard(self) -> None:
        for index, seg in enumerate(self.segments):
            if seg == DEEP_WILDCARD and index != len(self.segments) - 1:
                raise self.fail("'**' must be the last segment (only a verb may follow)")

    def check_duplicates(self) -> None:
        seen: set[str] = set()
        for var in self.variables:
            if var.dotted in seen:
                raise self.fail(f"field {var.dotted!r} is bound twice")
            seen.add(var.dotted)


def parse(template: str) -> Template:
    """Parses and compiles `template`; raises TemplateError with the reason."""
    return _Parser(template).parse()


def openapi_path(template: Template) -> str:
    """The OpenAPI path: one `{dotted.name}` parameter per variable.

    A constrained variable such as `{name=shelves/*}` becomes `shelves/{name}` when its
    fixed literal prefix can be spelled out (as protoc-gen-openapiv3 does); otherwise the
    whole span is one parameter.
    """
    parts: list[str] = []
    index = 0
    by_start = {v.start: v for v in template.variables}
    while index < len(template.segments):
        var = by_start.get(index)
        if var is None:
            parts.append(template.segments[index])
            index += 1
            continue
        span = template.segments[var.start : var.end]
        wild = [i for i, s in enumerate(span) if s in (WILDCARD, DEEP_WILDCARD)]
        if len(wild) == 1 and wild[0] == len(span) - 1:
            parts.extend(span[:-1])
        parts.append("{" + var.dotted + "}")
        index = var.end
    path = "/" + "/".join(parts)
    return path + (":" + template.verb if template.verb else "")
