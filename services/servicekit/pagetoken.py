"""Opaque page tokens (AIP-158): an offset bound to the query that produced it.

The token is base64url JSON, so it is opaque to clients but cheap to decode. It carries
a fingerprint of the filters: reusing a token with different filters is an error
instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json

from services.servicekit.errors import FieldViolation, InvalidArgument

_VERSION = 1
MAX_OFFSET = 1_000_000


def encode(offset: int, query_fingerprint: str) -> str:
    payload = json.dumps(
        {"v": _VERSION, "o": offset, "f": query_fingerprint}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode(token: str, query_fingerprint: str, *, field: str = "page_token") -> int:
    """The offset a token stands for; InvalidArgument if it is malformed or from another query."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
        offset = payload["o"]
        valid = (
            isinstance(payload, dict)
            and payload.get("v") == _VERSION
            and isinstance(offset, int)
            and 0 <= offset <= MAX_OFFSET
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise InvalidArgument([FieldViolation(field, "malformed page token")])
    if payload.get("f") != query_fingerprint:
        raise InvalidArgument(
            [FieldViolation(field, "page token belongs to a different query; start again")]
        )
    return int(offset)
