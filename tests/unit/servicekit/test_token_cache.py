"""TokenVerifier's memo of verified tokens: it serves exactly what a fresh verification
would, never past the token's `exp` or the memo's time bound, never a failure, and
stays within its size."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import jwt
import pytest

from services.servicekit.auth import Principal, TokenVerifier
from services.servicekit.config import JwtSettings
from services.servicekit.errors import Unauthenticated
from services.servicekit.token_cache import VerifiedTokenCache

SECRET = "s" * 40
HS = JwtSettings(algorithms=("HS256",), secret=SECRET)
NO_LEEWAY = JwtSettings(algorithms=("HS256",), secret=SECRET, leeway_seconds=0)


def _token(sub: str = "alice", **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": sub, "iat": now, "exp": now + 600, **claims}
    return jwt.encode(body, SECRET, algorithm="HS256")


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def _sleep_until(wall: float) -> None:
    await asyncio.sleep(max(0.0, wall - time.time()) + 0.05)


async def test_cached_principal_equals_a_fresh_verification() -> None:
    verifier = TokenVerifier(HS)
    token = _token()
    first = await verifier.verify(token)
    again = await verifier.verify(token)
    assert again is first, "the second call is served from the memo"
    assert again == await TokenVerifier(HS).verify(token)
    assert again == Principal(user_id="alice", token=token, expires_at=first.expires_at)


async def test_a_token_differing_only_in_its_signature_is_verified_not_served() -> None:
    verifier = TokenVerifier(HS)
    token = _token()
    await verifier.verify(token)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Unauthenticated):
        await verifier.verify(forged)


async def test_failures_are_not_remembered_and_expiry_beats_the_memo() -> None:
    # Real time, no leeway: before nbf the token is refused; once nbf passes it is
    # accepted (so the refusal was not remembered); once exp passes it is refused
    # again although it was accepted, and memoized, a moment before.
    verifier = TokenVerifier(NO_LEEWAY)
    nbf = math.ceil(time.time()) + 1
    token = _token(nbf=nbf, exp=nbf + 1)
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)
    await _sleep_until(nbf)
    accepted = await verifier.verify(token)
    assert await verifier.verify(token) is accepted, "memoized while valid"
    await _sleep_until(nbf + 1)
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(token)
    assert caught.value.reason == "TOKEN_EXPIRED"


@pytest.mark.parametrize(
    ("token_lifetime", "ttl", "served_until"),
    [
        pytest.param(3600, 300.0, 300.0, id="ttl-bounds-a-long-lived-token"),
        pytest.param(100, 300.0, 100.0, id="exp-bounds-a-short-lived-token"),
    ],
)
async def test_an_entry_is_served_until_the_earlier_of_exp_and_the_ttl(
    token_lifetime: int, ttl: float, served_until: float
) -> None:
    clock = _Clock()
    verifier = TokenVerifier(HS, cache_ttl_seconds=ttl, cache_clock=clock)
    start = clock.now
    token = _token(exp=int(start) + token_lifetime)  # whole seconds: up to 1 s early
    first = await verifier.verify(token)
    clock.now = start + served_until - 2
    assert await verifier.verify(token) is first
    clock.now = start + served_until + 1
    again = await verifier.verify(token)
    assert again is not first, "verified afresh"
    assert again == first


async def test_the_memo_is_bounded_and_evicts_the_least_recently_used() -> None:
    verifier = TokenVerifier(HS, cache_capacity=3)
    tokens = [_token(sub=f"user{i}") for i in range(5)]
    seen = [await verifier.verify(t) for t in tokens[:3]]
    assert await verifier.verify(tokens[0]) is seen[0]  # now the most recently used
    for token in tokens[3:]:
        await verifier.verify(token)
    assert await verifier.verify(tokens[0]) is seen[0], "recently used: kept"
    assert await verifier.verify(tokens[1]) is not seen[1], "least recently used: evicted"


def test_the_cache_never_holds_more_than_its_capacity() -> None:
    clock = _Clock()
    cache = VerifiedTokenCache(capacity=100, clock=clock)
    for i in range(1000):
        cache.put(f"t{i}", Principal(user_id=f"u{i}", token=f"t{i}", expires_at=clock.now + 60))
        assert len(cache) <= 100
    assert len(cache) == 100
    assert cache.get("t999") is not None and cache.get("t0") is None


def test_a_principal_already_past_exp_is_not_stored() -> None:
    # Accepted only within the verifier's leeway: nothing worth remembering.
    clock = _Clock()
    cache = VerifiedTokenCache(clock=clock)
    cache.put("t", Principal(user_id="u", token="t", expires_at=clock.now - 5))
    assert cache.get("t") is None and len(cache) == 0
