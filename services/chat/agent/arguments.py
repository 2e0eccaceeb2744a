"""A minimal check of a model's tool arguments against the tool's JSON schema.

Models get types wrong now and then (a number as text, an integer as 3.0); catching that
here turns it into a tool result the model can correct, instead of a confusing protobuf
error. TaskService still validates every value; this only guards shapes. Properties the
schema does not declare are dropped, `user_id` among them: the user is never the model's
to choose.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.chat.llm.base import ToolSpec


class ToolArgumentError(Exception):
    """The arguments do not fit the tool's schema; the message says how."""


def check_arguments(spec: ToolSpec, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The declared arguments, type-checked; None values are kept (meaning "not given")."""
    properties: Mapping[str, Any] = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", ()))
    problems: list[str] = []
    cleaned: dict[str, Any] = {}
    for name, value in arguments.items():
        schema = properties.get(name)
        if schema is None:
            continue
        if value is None:
            cleaned[name] = None
            continue
        try:
            cleaned[name] = _checked(schema, value, name)
        except ToolArgumentError as exc:
            problems.append(str(exc))
    problems.extend(f"{name} is required" for name in sorted(required) if cleaned.get(name) is None)
    if problems:
        raise ToolArgumentError("; ".join(problems))
    return cleaned


def _checked(schema: Mapping[str, Any], value: Any, path: str) -> Any:
    kind = schema.get("type")
    if kind == "string":
        if not isinstance(value, str):
            raise ToolArgumentError(f"{path} must be a string")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ToolArgumentError(f"{path} must be at most {schema['maxLength']} characters")
    elif kind == "integer":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ToolArgumentError(f"{path} must be an integer")
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            raise ToolArgumentError(
                f"{path} must be between {schema.get('minimum')} and {schema.get('maximum')}"
            )
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise ToolArgumentError(f"{path} must be true or false")
    elif kind == "array":
        if not isinstance(value, list):
            raise ToolArgumentError(f"{path} must be a list")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise ToolArgumentError(f"{path} must have at most {schema['maxItems']} items")
        items = schema.get("items", {})
        value = [_checked(items, item, f"{path}[{i}]") for i, item in enumerate(value)]
    enum = schema.get("enum")
    if enum is not None and value not in enum:
        raise ToolArgumentError(f"{path} must be one of {', '.join(map(str, enum))}")
    return value
