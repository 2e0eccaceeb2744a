"""A bounded memo of bearer tokens that passed full verification, for `TokenVerifier`.

Verifying a JWT (parse, signature, claims) is a pure function of the token string and
the configured keys, and it cost about a tenth of a GetTask's server CPU. Clients send
the same token on every call until it expires, so the verifier remembers the result.

Why this weakens nothing:
- Only a token that just passed the *full* verification is stored; a failure is never
  stored, so a rejected token is re-verified (and re-rejected) every time.
- The key is the exact token string. A different token, even one differing in a single
  byte of its signature, misses and is verified from scratch.
- Time is the one thing that turns an accepted token into a rejected one (`nbf` and
  `iat` only ever become more valid), so an entry lives until the token's own `exp`
  (without the verifier's leeway, so never longer than verification would accept it),
  and at most `ttl_seconds`: a key withdrawn from the JWKS stops being honoured within
  that bound, as it would once the JWKS cache refreshes.
- It is a process-local memo on one verifier, not state shared between requests in any
  semantic sense: a hit returns the same immutable `Principal` the verification built.
  Only tokens signed with our keys can get in, so nobody can fill it with junk, and the
  size bound caps its memory even so (at most `capacity` tokens of `MAX_TOKEN_BYTES`).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.servicekit.auth import Principal

DEFAULT_CAPACITY = 10_000
DEFAULT_TTL_SECONDS = 300.0


class VerifiedTokenCache:
    """token → (Principal, wall-clock time it stops being served), least recently used out."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._capacity = capacity
        self._ttl = ttl_seconds
        # Wall clock, because `exp` is wall-clock time; the verifier uses it too.
        self._clock = clock
        self._entries: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        principal, until = entry
        if self._clock() >= until:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return principal

    def put(self, token: str, principal: Principal) -> None:
        """Stores a principal that full verification of `token` has just produced."""
        now = self._clock()
        until = now + self._ttl
        if principal.expires_at is not None:
            until = min(until, principal.expires_at)
        if until <= now:  # accepted only thanks to the leeway: nothing to remember
            return
        self._entries[token] = (principal, until)
        self._entries.move_to_end(token)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
