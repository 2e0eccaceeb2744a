"""JSON Schema (OpenAPI 3.1) for messages, in the JSON the gateway actually emits.

Property names are proto field names (snake_case), enums are name strings, 64-bit
integers strings, Timestamp a date-time string, Struct/Value free-form. Fields with
presence (messages and proto3 `optional` scalars) print as `null` when unset, so they
are nullable; members of a real `oneof` are omitted instead. `field_behavior`
REQUIRED becomes `required`, OUTPUT_ONLY `readOnly`. Comments become descriptions.
"""

from __future__ import annotations

from typing import Any

from google.api import field_behavior_pb2
from google.protobuf import descriptor, descriptor_pb2

_FD = descriptor.FieldDescriptor
Schema = dict[str, Any]

_SCALARS: dict[int, Schema] = {
    _FD.TYPE_STRING: {"type": "string"},
    _FD.TYPE_BOOL: {"type": "boolean"},
    _FD.TYPE_INT32: {"type": "integer", "format": "int32"},
    _FD.TYPE_SINT32: {"type": "integer", "format": "int32"},
    _FD.TYPE_SFIXED32: {"type": "integer", "format": "int32"},
    _FD.TYPE_UINT32: {"type": "integer", "format": "int64", "minimum": 0},
    _FD.TYPE_FIXED32: {"type": "integer", "format": "int64", "minimum": 0},
    _FD.TYPE_INT64: {"type": "string", "format": "int64"},
    _FD.TYPE_SINT64: {"type": "string", "format": "int64"},
    _FD.TYPE_SFIXED64: {"type": "string", "format": "int64"},
    _FD.TYPE_UINT64: {"type": "string", "format": "uint64"},
    _FD.TYPE_FIXED64: {"type": "string", "format": "uint64"},
    _FD.TYPE_DOUBLE: {"type": "number", "format": "double"},
    _FD.TYPE_FLOAT: {"type": "number", "format": "float"},
    _FD.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
}
_WKT: dict[str, Schema] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated field paths.",
    },
    "google.protobuf.Struct": {"type": "object", "additionalProperties": True},
    "google.protobuf.Value": {"description": "Any JSON value."},
    "google.protobuf.ListValue": {"type": "array", "items": {}},
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
    "google.protobuf.DoubleValue": {"type": "number", "format": "double"},
    "google.protobuf.FloatValue": {"type": "number", "format": "float"},
    "google.protobuf.Int64Value": {"type": "string", "format": "int64"},
    "google.protobuf.UInt64Value": {"type": "string", "format": "uint64"},
    "google.protobuf.Int32Value": {"type": "integer", "format": "int32"},
    "google.protobuf.UInt32Value": {"type": "integer", "format": "int64", "minimum": 0},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BytesValue": {"type": "string", "format": "byte"},
}
STATUS_SCHEMA: Schema = {
    "type": "object",
    "description": "google.rpc.Status: the error body of every failed call.",
    "properties": {
        "code": {"type": "integer", "format": "int32", "description": "google.rpc.Code."},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/google.protobuf.Any"},
            "description": "ErrorInfo, BadRequest, RetryInfo, ... each with its `@type`.",
        },
    },
    "required": ["code", "message", "details"],
}


def ref(full_name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{full_name}"}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    if isinstance(schema.get("type"), str):
        return {**schema, "type": [schema["type"], "null"]}
    return schema


class Comments:
    """Leading comments of every element of the generated files, keyed by full name."""

    def __init__(self, files: list[descriptor_pb2.FileDescriptorProto]) -> None:
        self._by_name: dict[str, str] = {}
        for file in files:
            located = {
                tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location
            }
            prefix = f"{file.package}." if file.package else ""
            for i, message in enumerate(file.message_type):
                self._message(located, (4, i), prefix + message.name, message)
            for i, enum in enumerate(file.enum_type):
                self._enum(located, (5, i), prefix + enum.name, enum)
            for i, service in enumerate(file.service):
                self._put(located, (6, i), prefix + service.name)
                for j, method in enumerate(service.method):
                    self._put(located, (6, i, 2, j), f"{prefix}{service.name}.{method.name}")

    def _put(self, located: dict[tuple[int, ...], str], path: tuple[int, ...], name: str) -> None:
        text = located.get(path, "")
        lines = [line.strip() for line in text.strip().splitlines()]
        if any(lines):
            self._by_name[name] = "\n".join(lines).strip()

    def _message(
        self,
        located: dict[tuple[int, ...], str],
        path: tuple[int, ...],
        name: str,
        message: descriptor_pb2.DescriptorProto,
    ) -> None:
        self._put(located, path, name)
        for k, field in enumerate(message.field):
            self._put(located, (*path, 2, k), f"{name}.{field.name}")
        for k, nested in enumerate(message.nested_type):
            self._message(located, (*path, 3, k), f"{name}.{nested.name}", nested)
        for k, enum in enumerate(message.enum_type):
            self._enum(located, (*path, 4, k), f"{name}.{enum.name}", enum)

    def _enum(
        self,
        located: dict[tuple[int, ...], str],
        path: tuple[int, ...],
        name: str,
        enum: descriptor_pb2.EnumDescriptorProto,
    ) -> None:
        self._put(located, path, name)
        for k, value in enumerate(enum.value):
            self._put(located, (*path, 2, k), f"{name}.{value.name}")

    def get(self, full_name: str) -> str:
        return self._by_name.get(full_name, "")


def behaviors(field: descriptor.FieldDescriptor) -> set[int]:
    options = field.GetOptions()
    return set(options.Extensions[field_behavior_pb2.field_behavior])


def in_real_oneof(field: descriptor.FieldDescriptor) -> bool:
    oneof = field.containing_oneof
    return oneof is not None and not (len(oneof.fields) == 1 and oneof.name == "_" + field.name)


class SchemaBuilder:
    """Collects component schemas for every message and enum reached from the operations."""

    def __init__(self, comments: Comments) -> None:
        self.comments = comments
        self.schemas: dict[str, Schema] = {
            "google.rpc.Status": STATUS_SCHEMA,
            "google.protobuf.Any": _WKT["google.protobuf.Any"],
        }

    def type_schema(self, field: descriptor.FieldDescriptor) -> Schema:
        """The schema of one value of `field` (an element, for repeated fields)."""
        if field.message_type is not None:
            return self.message_ref(field.message_type)
        if field.enum_type is not None:
            return self.enum_ref(field.enum_type)
        return dict(_SCALARS[field.type])

    def field_schema(self, field: descriptor.FieldDescriptor) -> Schema:
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            value = self.type_schema(message.fields_by_name["value"])
            schema: Schema = {"type": "object", "additionalProperties": value}
        elif field.is_repeated:
            schema = {"type": "array", "items": self.type_schema(field)}
        else:
            schema = self.type_schema(field)
            if (message is not None or field.has_presence) and not in_real_oneof(field):
                schema = nullable(schema)
        description = self.comments.get(field.full_name)
        if description:
            schema["description"] = description
        if field_behavior_pb2.OUTPUT_ONLY in behaviors(field):
            schema["readOnly"] = True
        return schema

    def message_ref(self, message: descriptor.Descriptor) -> Schema:
        if message.full_name in _WKT:
            return dict(_WKT[message.full_name])
        if message.full_name not in self.schemas:
            self.schemas[message.full_name] = {}  # placeholder first: messages may recurse
            self.schemas[message.full_name] = self.object_schema(message)
        return ref(message.full_name)

    def object_schema(
        self, message: descriptor.Descriptor, skip: frozenset[str] = frozenset()
    ) -> Schema:
        properties: Schema = {}
        required: list[str] = []
        for field in message.fields:
            if field.name in skip:
                continue
            properties[field.name] = self.field_schema(field)
            if field_behavior_pb2.REQUIRED in behaviors(field):
                required.append(field.name)
        schema: Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        description = self.comments.get(message.full_name)
        oneofs = [o for o in message.oneofs if any(in_real_oneof(f) for f in o.fields)]
        for oneof in oneofs:
            names = ", ".join(f"`{f.name}`" for f in oneof.fields)
            description = (description + "\n\n" if description else "") + (
                f"At most one of {names} is set (`{oneof.name}`); the others are omitted."
            )
        if description:
            schema["description"] = description
        return schema

    def enum_ref(self, enum: descriptor.EnumDescriptor) -> Schema:
        if enum.full_name not in self.schemas:
            schema: Schema = {"type": "string", "enum": [v.name for v in enum.values]}
            description = self.comments.get(enum.full_name)
            values = [
                f"- `{v.name}`: {self.comments.get(f'{enum.full_name}.{v.name}')}"
                for v in enum.values
                if self.comments.get(f"{enum.full_name}.{v.name}")
            ]
            if values:
                description = "\n".join([description, "", *values]).strip()
            if description:
                schema["description"] = description
            self.schemas[enum.full_name] = schema
        return ref(enum.full_name)
