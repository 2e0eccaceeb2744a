"""Text -> field value conversion for path and query parameters (grpc-gateway query.go).

Scalars follow Go's strconv rules as grpc-gateway applies them: booleans
`true/false/1/0/t/f` (any of Go's spellings), base-10 integers checked against their bit
width, floats including NaN/Inf, bytes as standard then URL-safe base64, enums by
case-sensitive name or number. Well-known types take their JSON text forms, Duration
Go's `time.ParseDuration` syntax, FieldMask one comma-separated list.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from typing import Any, cast

from google.protobuf import descriptor, json_format
from google.protobuf.message import Message

from services.gateway.runtime.wellknown import WRAPPERS

_FD = descriptor.FieldDescriptor
_BOOLS = {
    **dict.fromkeys(("1", "t", "T", "TRUE", "true", "True"), True),
    **dict.fromkeys(("0", "f", "F", "FALSE", "false", "False"), False),
}
_SIGNED = re.compile(r"[+-]?[0-9]+")
_UNSIGNED = re.compile(r"\+?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_FLOAT_SPECIAL = {"nan": math.nan, "inf": math.inf, "infinity": math.inf}
_FLOAT32_MAX = 3.4028234663852886e38
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_DURATION_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_INT_BITS = {
    _FD.TYPE_INT32: (32, True),
    _FD.TYPE_SINT32: (32, True),
    _FD.TYPE_SFIXED32: (32, True),
    _FD.TYPE_INT64: (64, True),
    _FD.TYPE_SINT64: (64, True),
    _FD.TYPE_SFIXED64: (64, True),
    _FD.TYPE_UINT32: (32, False),
    _FD.TYPE_FIXED32: (32, False),
    _FD.TYPE_UINT64: (64, False),
    _FD.TYPE_FIXED64: (64, False),
}


def descriptor_of(message: Message) -> descriptor.Descriptor:
    """`message.DESCRIPTOR`, typed as the pure-Python class the stubs describe."""
    return cast(descriptor.Descriptor, message.DESCRIPTOR)


class ConversionError(ValueError):
    """The text is not a valid value for the field; the message says why."""


def _integer(text: str, bits: int, signed: bool) -> int:
    if (_SIGNED if signed else _UNSIGNED).fullmatch(text) is None:
        raise ConversionError(f"{text!r} is not a valid {'' if signed else 'u'}int{bits}")
    value = int(text)
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if not low <= value <= high:
        raise ConversionError(f"{text!r} is out of range for {'' if signed else 'u'}int{bits}")
    return value


def _float(text: str, single: bool) -> float:
    sign = -1.0 if text.startswith("-") else 1.0
    special = _FLOAT_SPECIAL.get(text.lstrip("+-").lower())
    if special is not None:
        return math.nan if math.isnan(special) else sign * special
    if _FLOAT.fullmatch(text) is None:
        raise ConversionError(f"{text!r} is not a valid number")
    value = float(text)
    if math.isinf(value) or (single and abs(value) > _FLOAT32_MAX):
        raise ConversionError(f"{text!r} is out of range")
    return value


def _bytes(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError):
        pass
    try:
        return base64.b64decode(text.encode("ascii"), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConversionError(f"{text!r} is not valid base64") from exc


def _enum(field: descriptor.FieldDescriptor, text: str) -> int:
    enum = field.enum_type
    assert enum is not None
    by_name = enum.values_by_name.get(text)
    if by_name is not None:
        return int(by_name.number)
    if _SIGNED.fullmatch(text) is not None and int(text) in enum.values_by_number:
        return int(text)
    raise ConversionError(f"{text!r} is not a valid {enum.full_name}")


def scalar(field: descriptor.FieldDescriptor, text: str) -> Any:
    """The Python value for a non-message field."""
    kind = field.type
    if kind == _FD.TYPE_STRING:
        return text
    if kind == _FD.TYPE_BOOL:
        if text not in _BOOLS:
            raise ConversionError(f"{text!r} is not a valid bool")
        return _BOOLS[text]
    if kind in _INT_BITS:
        bits, signed = _INT_BITS[kind]
        return _integer(text, bits, signed)
    if kind in (_FD.TYPE_DOUBLE, _FD.TYPE_FLOAT):
        return _float(text, kind == _FD.TYPE_FLOAT)
    if kind == _FD.TYPE_BYTES:
        return _bytes(text)
    if kind == _FD.TYPE_ENUM:
        return _enum(field, text)
    raise ConversionError(f"unsupported field type {kind}")


def parse_duration(text: str) -> tuple[int, int]:
    """Go `time.ParseDuration` syntax ("1.5s", "300ms", "1h2m") -> (seconds, nanos)."""
    negative = text.startswith("-")
    body = text[1:] if text[:1] in ("+", "-") else text
    if body == "0":
        return 0, 0
    total = 0
    pos = 0
    for match in _DURATION_PART.finditer(body):
        number = match.group(1)
        if match.start() != pos or number in ("", "."):
            raise ConversionError(f"{text!r} is not a valid duration")
        whole, _, frac = number.partition(".")
        unit = _DURATION_UNIT_NS[match.group(2)]
        total += int(whole or "0") * unit
        if frac:
            total += int(frac) * unit // 10 ** len(frac)
        pos = match.end()
    if pos != len(body) or pos == 0:
        raise ConversionError(f"{text!r} is not a valid duration")
    seconds, nanos = divmod(total, 1_000_000_000)
    return (-seconds, -nanos) if negative else (seconds, nanos)


def fill_message(target: Message, text: str) -> None:
    """Sets a well-known-type message from its query-string text form."""
    desc = descriptor_of(target)
    name = desc.full_name
    try:
        if name == "google.protobuf.Timestamp":
            target.FromJsonString(text)  # type: ignore[attr-defined]
        elif name == "google.protobuf.Duration":
            seconds, nanos = parse_duration(text)
            target.seconds, target.nanos = seconds, nanos  # type: ignore[attr-defined]
        elif name == "google.protobuf.FieldMask":
            target.paths[:] = text.split(",")  # type: ignore[attr-defined]
        elif name in WRAPPERS:
            target.value = scalar(desc.fields_by_name["value"], text)  # type: ignore[attr-defined]
        elif name in (
            "google.protobuf.Struct",
            "google.protobuf.Value",
            "google.protobuf.ListValue",
        ):
            json_format.Parse(text, target)
        else:
            raise ConversionError(f"unsupported message type: {name!r}")
    except (ValueError, json_format.ParseError) as exc:
        if isinstance(exc, ConversionError):
            raise
        raise ConversionError(f"{text!r} is not a valid {name}: {exc}") from exc


def assign(message: Message, field: descriptor.FieldDescriptor, text: str) -> None:
    """Sets one singular field of `message` from `text`, or appends to a repeated one."""
    if field.message_type is not None:
        if field.is_repeated:
            fill_message(getattr(message, field.name).add(), text)
        else:
            holder = type(getattr(message, field.name))()
            fill_message(holder, text)
            getattr(message, field.name).CopyFrom(holder)
        return
    value = scalar(field, text)
    if field.is_repeated:
        getattr(message, field.name).append(value)
    else:
        setattr(message, field.name, value)
