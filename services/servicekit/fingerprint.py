"""Short, stable fingerprints of request parameters (page tokens, idempotency keys)."""

from __future__ import annotations

import hashlib
import json


def fingerprint(*parts: object) -> str:
    """A 16-hex-digit digest of `parts`; equal inputs give equal output across processes."""
    encoded = json.dumps(parts, default=str, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]
