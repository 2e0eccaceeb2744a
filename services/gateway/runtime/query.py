"""Query parameters and path bindings -> request fields (grpc-gateway runtime/query.go).

A key is a dotted field path whose parts may be proto or JSON names; only singular
messages are traversed. Repeated fields take repeated keys, maps `key[k]=v`, a
singular field given twice is an error, and so is a second member of one oneof.
Unknown keys are ignored unless `strict`. Keys that resolve to a path-bound field or
into the body field are skipped. Unlike grpc-gateway, this compares resolved fields,
not key text, so `?userId=x` cannot override the `{user_id}` path binding.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

from google.protobuf import descriptor
from google.protobuf.message import Message

from services.gateway.runtime.errors import invalid_argument
from services.gateway.runtime.fields import ConversionError, assign, descriptor_of, scalar
from services.gateway.runtime.marshal import in_real_oneof

_MAP_KEY = re.compile(r"^(.*)\[(.*)\]$")
FieldPath = tuple[str, ...]


def parse_query_string(query: bytes | str) -> list[tuple[str, list[str]]]:
    """`a=1&b=2&a=3` -> [("a", ["1", "3"]), ("b", ["2"])], in first-seen key order."""
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    grouped: dict[str, list[str]] = {}
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except UnicodeDecodeError as exc:
        raise invalid_argument(f"query string is not valid UTF-8: {exc.reason}") from exc
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return list(grouped.items())


def _field(message: descriptor.Descriptor, name: str) -> descriptor.FieldDescriptor | None:
    field = message.fields_by_name.get(name)
    if field is not None:
        return field
    for candidate in message.fields:
        if candidate.json_name == name:
            return candidate
    return None


def _covered(path: FieldPath, excluded: Iterable[FieldPath]) -> bool:
    return any(path[: len(e)] == e or e[: len(path)] == path for e in excluded)


def _check_oneof(message: Message, field: descriptor.FieldDescriptor) -> None:
    if not in_real_oneof(field):
        return
    oneof = field.containing_oneof
    assert oneof is not None
    current = message.WhichOneof(oneof.name)
    if current is not None and current != field.name:
        raise invalid_argument(f"field already set for oneof {oneof.name!r}")


def populate_field(message: Message, path: FieldPath, values: list[str], what: str) -> None:
    """Sets the field at `path` (names already resolved to proto names) from `values`."""
    target = message
    for name in path[:-1]:
        field = descriptor_of(target).fields_by_name[name]
        _check_oneof(target, field)
        target = getattr(target, name)
    field = descriptor_of(target).fields_by_name[path[-1]]
    _check_oneof(target, field)
    label = ".".join(path)
    try:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            _set_map(target, field, values)
        elif field.is_repeated:
            for value in values:
                assign(target, field, value)
        elif len(values) > 1:
            raise invalid_argument(f"too many values for field {label!r}: {', '.join(values)}")
        else:
            assign(target, field, values[0])
    except ConversionError as exc:
        raise invalid_argument(f"type mismatch, {what}: {label}, error: {exc}") from exc


def _set_map(message: Message, field: descriptor.FieldDescriptor, values: list[str]) -> None:
    if len(values) != 2:
        raise invalid_argument(
            f"more than one value provided for key {values[0]!r} in map {field.name!r}"
        )
    entry = field.message_type
    assert entry is not None
    key = scalar(entry.fields_by_name["key"], values[0])
    value_field = entry.fields_by_name["value"]
    mapping = getattr(message, field.name)
    if value_field.message_type is not None:
        raise ConversionError(f"map {field.name!r} of messages cannot be set from the query")
    mapping[key] = scalar(value_field, values[1])


def resolve(message: descriptor.Descriptor, key: str) -> FieldPath | None:
    """Proto-name path for a dotted query key, or None when some part is unknown."""
    path: list[str] = []
    current: descriptor.Descriptor | None = message
    parts = key.split(".")
    for index, part in enumerate(parts):
        if current is None:
            raise invalid_argument(f"invalid path: {parts[index - 1]!r} is not a message")
        field = _field(current, part)
        if field is None:
            return None
        if index < len(parts) - 1 and (field.message_type is None or field.is_repeated):
            raise invalid_argument(f"invalid path: {field.name!r} is not a message")
        path.append(field.name)
        current = field.message_type
    return tuple(path)


def populate_query(
    message: Message,
    params: list[tuple[str, list[str]]],
    excluded: Iterable[FieldPath],
    *,
    strict: bool = False,
) -> None:
    """Fills `message` from parsed query parameters (grpc-gateway PopulateQueryParameters)."""
    skip = tuple(excluded)
    for raw_key, raw_values in params:
        key, values = raw_key, raw_values
        match = _MAP_KEY.match(raw_key)
        if match is not None:
            key, values = match.group(1), [match.group(2), *raw_values]
        path = resolve(descriptor_of(message), key)
        if path is None:
            if strict:
                raise invalid_argument(f"unknown query parameter {raw_key!r}")
            continue
        if _covered(path, skip):
            continue
        populate_field(message, path, values, "parameter")


def populate_path(message: Message, bindings: Iterable[tuple[FieldPath, str]]) -> None:
    """Sets each path-bound field; runs after the body, so the path wins (grpc-gateway)."""
    for path, value in bindings:
        populate_field(message, path, [value], "parameter")
