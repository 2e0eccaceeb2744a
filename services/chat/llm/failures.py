"""The domain errors a model provider raises, worded once for every provider.

Messages go to the caller (and, for FAILED_PRECONDITION, to an operator reading it), so
they name the setting to check and never carry a key, a URL with credentials or a raw
provider response; providers log those details server-side instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from services.servicekit.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    ResourceExhausted,
    Unavailable,
)

# When a provider says "slow down" without saying for how long.
DEFAULT_RETRY_AFTER_SECONDS = 10.0
_MAX_RETRY_AFTER_SECONDS = 3600.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def quota_exhausted(provider: str, retry_after_seconds: float | None) -> ResourceExhausted:
    wait = retry_after_seconds if retry_after_seconds is not None else DEFAULT_RETRY_AFTER_SECONDS
    wait = min(max(wait, 1.0), _MAX_RETRY_AFTER_SECONDS)
    return ResourceExhausted(
        f"the assistant's model ({provider}) is over its request quota; try again in "
        f"{math.ceil(wait)} seconds",
        retry_after_seconds=wait,
        reason="LLM_QUOTA_EXHAUSTED",
        metadata={"provider": provider},
    )


def unavailable(provider: str) -> Unavailable:
    return Unavailable(
        f"the assistant's model ({provider}) is unavailable; try again shortly",
        reason="LLM_UNAVAILABLE",
        metadata={"provider": provider},
    )


def timed_out(provider: str) -> DeadlineExceeded:
    return DeadlineExceeded(
        f"the assistant's model ({provider}) did not answer in time",
        reason="LLM_TIMEOUT",
        metadata={"provider": provider},
    )


def misconfigured(provider: str, what: str) -> FailedPrecondition:
    """An operator problem (bad key, unknown model, rejected request), not the caller's."""
    return FailedPrecondition(
        f"the assistant's model ({provider}) is misconfigured: {what}",
        reason="LLM_MISCONFIGURED",
        metadata={"provider": provider},
    )


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = lowered.get("retry-after-ms")
    if millis is not None:
        try:
            return float(millis) / 1000.0
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_duration(value: object) -> float | None:
    """A protobuf JSON Duration such as "37s" or "1.5s"; None if it is anything else."""
    if not isinstance(value, str):
        return None
    match = _DURATION.match(value)
    return float(match.group(1)) if match else None
