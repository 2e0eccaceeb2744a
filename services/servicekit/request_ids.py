"""Validation of the `request_id` idempotency keys every mutating request may carry."""

from __future__ import annotations

import re

from services.servicekit.errors import Violations

REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


def check_request_id(value: str, errors: Violations) -> str:
    """`value` unchanged; a violation on `request_id` unless empty or 1-128 printable ASCII."""
    if value and REQUEST_ID.fullmatch(value) is None:
        errors.add("request_id", "must be 1 to 128 printable ASCII characters")
    return value
