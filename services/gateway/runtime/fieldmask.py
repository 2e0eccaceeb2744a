"""grpc-gateway's PATCH feature: an empty FieldMask is filled from the JSON body's keys.

It applies when the method is PATCH, the body is one named field (not `*`) and the
request has exactly one top-level FieldMask (grpc-gateway `patch_feature.md`,
`runtime/fieldmask.go`). Paths are proto names, nested objects give dotted paths,
lists and maps are leaves, the keys inside a Struct become sub-paths; sorted.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import Message

from services.gateway.runtime.fields import descriptor_of
from services.gateway.runtime.route import Route

_FIELD_MASK = "google.protobuf.FieldMask"
_STRUCT = "google.protobuf.Struct"


def _lookup(message: descriptor.Descriptor, key: str) -> descriptor.FieldDescriptor | None:
    field = message.fields_by_name.get(key)
    if field is None:
        field = next((f for f in message.fields if f.json_name == key), None)
    return field


def _walk(
    value: dict[str, Any], message: descriptor.Descriptor, prefix: str, out: list[str]
) -> None:
    for key, item in value.items():
        field = _lookup(message, key)
        if field is None:
            continue  # unknown keys are dropped by the decoder too
        path = prefix + field.name
        sub = field.message_type
        nested = isinstance(item, dict) and item and sub is not None and not field.is_repeated
        if nested and sub is not None and sub.full_name == _STRUCT:
            out.extend(f"{path}.{k}" for k in item)
        elif nested and sub is not None and not sub.full_name.startswith("google.protobuf."):
            _walk(item, sub, path + ".", out)
        else:
            out.append(path)


def mask_from_body(body: Any, message: descriptor.Descriptor) -> list[str]:
    if not isinstance(body, dict):
        return []
    paths: list[str] = []
    _walk(body, message, "", paths)
    return sorted(paths)


def apply_patch_feature(route: Route, request: Message, body: Any) -> None:
    """Fills the request's one empty FieldMask from the keys of the decoded JSON body."""
    if route.http_method != "PATCH" or route.body in ("", "*") or "." in route.body:
        return
    desc = descriptor_of(request)
    masks = [
        f
        for f in desc.fields
        if f.message_type is not None
        and f.message_type.full_name == _FIELD_MASK
        and not f.is_repeated
    ]
    target = desc.fields_by_name[route.body].message_type
    if len(masks) != 1 or target is None:
        return
    mask = getattr(request, masks[0].name)
    if mask.paths:
        return
    mask.paths.extend(mask_from_body(body, target))
