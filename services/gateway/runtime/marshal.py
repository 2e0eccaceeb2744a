"""JSON in and out, with grpc-gateway's defaults plus our proto-field-name choice.

Out: proto field names (reference §6), enums as names, 64-bit integers as strings,
every field printed. `MessageToDict` prints scalars, lists and maps but leaves unset
messages and presence fields out; the gateway contract prints them as `null`, so one
extra pass adds them (members of a real `oneof` stay omitted, as protojson does).
In: both spellings are accepted; unknown fields are dropped unless `strict`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

from services.gateway.runtime.errors import invalid_argument
from services.gateway.runtime.fields import descriptor_of
from services.gateway.runtime.wellknown import JSON_SPECIAL


def is_synthetic_oneof(field: descriptor.FieldDescriptor) -> bool:
    """True for the hidden oneof protoc wraps around a proto3 `optional` field."""
    oneof = field.containing_oneof
    return oneof is not None and len(oneof.fields) == 1 and oneof.name == "_" + field.name


def in_real_oneof(field: descriptor.FieldDescriptor) -> bool:
    return field.containing_oneof is not None and not is_synthetic_oneof(field)


@dataclass(frozen=True)
class JsonMarshaler:
    """Encodes messages for responses and decodes request bodies."""

    use_proto_names: bool = True
    emit_unpopulated: bool = True
    strict: bool = False

    def to_value(self, message: Message) -> Any:
        """The JSON-ready value of `message` (a dict, or a scalar for JSON-special WKTs)."""
        value = json_format.MessageToDict(
            message,
            preserving_proto_field_name=self.use_proto_names,
            always_print_fields_with_no_presence=self.emit_unpopulated,
        )
        if self.emit_unpopulated and isinstance(value, dict):
            return self._with_nulls(message, value)
        return value

    def _key(self, field: descriptor.FieldDescriptor) -> str:
        return field.name if self.use_proto_names else field.json_name

    def _with_nulls(self, message: Message, data: dict[str, Any]) -> dict[str, Any]:
        """`data` re-ordered by declaration, with unset messages/presence fields as null."""
        desc = descriptor_of(message)
        if desc.full_name in JSON_SPECIAL:
            return data
        out: dict[str, Any] = {}
        for field in desc.fields:
            key = self._key(field)
            sub = field.message_type
            if field.is_repeated:
                if key not in data:
                    continue
                items = data[key]
                if sub is not None and not sub.GetOptions().map_entry:
                    if sub.full_name not in JSON_SPECIAL:
                        seq = getattr(message, field.name)
                        items = [self._with_nulls(m, d) for m, d in zip(seq, items, strict=True)]
                elif sub is not None:
                    value_field = sub.fields_by_name["value"]
                    vtype = value_field.message_type
                    if vtype is not None and vtype.full_name not in JSON_SPECIAL:
                        mapping = getattr(message, field.name)
                        items = {
                            k: self._with_nulls(mapping[_map_key(sub, k)], v)
                            for k, v in items.items()
                        }
                out[key] = items
            elif key in data:
                value = data[key]
                if sub is not None and sub.full_name not in JSON_SPECIAL:
                    value = self._with_nulls(getattr(message, field.name), value)
                out[key] = value
            elif (sub is not None or field.has_presence) and not in_real_oneof(field):
                out[key] = None
        return out

    def encode(self, value: Any) -> bytes:
        return json.dumps(
            _integral_floats(value), ensure_ascii=False, separators=(",", ":")
        ).encode()

    def marshal(self, message: Message, response_body: str = "") -> bytes:
        """The HTTP response body; `response_body` selects one (dotted) field."""
        return self.encode(self.select(message, response_body))

    def select(self, message: Message, response_body: str = "") -> Any:
        value = self.to_value(message)
        for name in filter(None, response_body.split(".")):
            field = descriptor_of(message).fields_by_name[name]
            value = value.get(self._key(field)) if isinstance(value, dict) else None
            if field.message_type is None or field.is_repeated:
                break
            message = getattr(message, name)
        return value

    def decode(self, data: bytes, message: Message, body: str) -> Any:
        """Decodes a request body into `message` (`*`) or into one of its fields.

        Returns the parsed JSON (None for an empty body) for the PATCH field-mask feature.
        """
        if not data.strip():
            return None  # grpc-gateway treats an empty body as an empty message (io.EOF)
        try:
            value = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise invalid_argument(f"invalid JSON body: {exc}") from exc
        if body != "*":
            for name in reversed(body.split(".")):
                value = {name: value}
        elif not isinstance(value, dict):
            raise invalid_argument("the request body must be a JSON object")
        parsed = value
        if body != "*":
            for name in body.split("."):
                parsed = parsed[name]
        self.parse_into(value, message)
        return parsed

    def parse_into(self, value: Any, message: Message) -> None:
        try:
            json_format.ParseDict(value, message, ignore_unknown_fields=not self.strict)
        except (json_format.ParseError, ValueError, TypeError) as exc:
            raise invalid_argument(str(exc)) from exc


_EXACT_INT = 2**53


def _integral_floats(value: Any) -> Any:
    """Whole-number doubles as JSON integers (`100`, not `100.0`), as Go's protojson writes
    them: Struct/Value numbers are doubles, and the frontend reads `page_size: 100`."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and -_EXACT_INT < value < _EXACT_INT else value
    if isinstance(value, dict):
        return {k: _integral_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats(v) for v in value]
    return value


def _map_key(entry: descriptor.Descriptor, key: str) -> Any:
    """JSON object keys are strings; map lookups need the typed key back."""
    kind = entry.fields_by_name["key"].type
    if kind == descriptor.FieldDescriptor.TYPE_BOOL:
        return key == "true"
    if kind == descriptor.FieldDescriptor.TYPE_STRING:
        return key
    return int(key)
