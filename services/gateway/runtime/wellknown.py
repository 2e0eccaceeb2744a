"""Well-known types with a JSON form of their own, named once for runtime and plugins."""

from __future__ import annotations

# google.protobuf.*Value wrappers: the bare scalar (or null) in JSON.
WRAPPERS = frozenset(
    f"google.protobuf.{n}Value"
    for n in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)

# Messages that travel as one JSON value, so they may be path or query parameters.
JSON_SCALARS = WRAPPERS | {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
}

# Everything protojson prints in a form of its own: never walked field by field.
JSON_SPECIAL = JSON_SCALARS | {"google.protobuf.Any"}
