"""Bearer-token authentication: verify a JWT and hand its subject to the handler.

The verified `Principal` travels in one contextvar that `rpc.CallInterceptor` sets
and handlers read with `current_principal()`. The raw token is kept so ChatService
can call TaskService *as the user*; it is never logged (repr is suppressed).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import time
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt

from services.servicekit import token_cache
from services.servicekit.config import JwtSettings
from services.servicekit.errors import PermissionDenied, Unauthenticated

MAX_TOKEN_BYTES = 4096
_JWKS_TTL_SECONDS = 300.0
_JWKS_MIN_REFRESH_SECONDS = 30.0


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    token: str = field(repr=False)
    expires_at: float | None = None


_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "todochat_principal", default=None
)


def current_principal() -> Principal:
    """The caller of the RPC being served. Raises if called outside an authenticated RPC."""
    principal = _principal.get()
    if principal is None:
        raise Unauthenticated("this call needs a bearer token")
    return principal


def set_principal(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _principal.set(principal)


def reset_principal(token: contextvars.Token[Principal | None]) -> None:
    _principal.reset(token)


def authorize_path_user(path_user_id: str, principal: Principal) -> None:
    """A `user_id` in the request (the REST path) must be the caller's own."""
    if path_user_id and path_user_id != principal.user_id:
        raise PermissionDenied(
            "user_id in the path does not match the token's subject", reason="USER_MISMATCH"
        )


def bearer_from_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
    """Extracts the token from `authorization: Bearer <token>` metadata."""
    values = [v for k, v in (metadata or ()) if k.lower() == "authorization"]
    if not values:
        raise Unauthenticated(
            "missing authorization metadata; send 'authorization: Bearer <token>'",
            reason="TOKEN_MISSING",
        )
    if len(values) > 1:
        raise Unauthenticated("send exactly one authorization header", reason="TOKEN_INVALID")
    raw = values[0]
    value = raw.decode("latin-1") if isinstance(raw, bytes) else raw
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("authorization must use the Bearer scheme", reason="TOKEN_INVALID")
    return token.strip()


class _JwksCache:
    """Keys from a JWKS URL, cached, and refreshed when an unknown `kid` shows up."""

    def __init__(self, url: str, refresh_floor_seconds: float) -> None:
        self._url = url
        self._refresh_floor = refresh_floor_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> Any:
        now = time.monotonic()
        if not self._keys or now - self._fetched_at > _JWKS_TTL_SECONDS:
            await self._refresh()
        key = self._lookup(kid)
        if key is None and time.monotonic() - self._fetched_at >= self._refresh_floor:
            # A rotated key: refresh once, but never let unknown kids hammer the issuer.
            await self._refresh()
            key = self._lookup(kid)
        if key is None:
            raise Unauthenticated("token signed by an unknown key", reason="TOKEN_INVALID")
        return key

    def _lookup(self, kid: str | None) -> Any:
        if kid is None:
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    async def _refresh(self) -> None:
        async with self._lock:
            try:
                document = await asyncio.to_thread(self._fetch)
                keys = jwt.PyJWKSet.from_dict(document).keys
            except (OSError, ValueError, jwt.PyJWKError) as exc:
                if not self._keys:
                    raise Unauthenticated(
                        "cannot verify tokens right now", reason="JWKS_UNAVAILABLE"
                    ) from exc
                return
            self._keys = {k.key_id or f"_{i}": k.key for i, k in enumerate(keys)}
            self._fetched_at = time.monotonic()

    def _fetch(self) -> dict[str, Any]:
        request = urllib.request.Request(self._url, headers={"Accept": "application/json"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            payload: dict[str, Any] = json.loads(response.read(1024 * 1024))
            return payload


class TokenVerifier:
    """Verifies bearer tokens with the algorithms pinned in configuration."""

    def __init__(
        self,
        settings: JwtSettings,
        *,
        jwks_refresh_floor_seconds: float = _JWKS_MIN_REFRESH_SECONDS,
        cache_capacity: int = token_cache.DEFAULT_CAPACITY,
        cache_ttl_seconds: float = token_cache.DEFAULT_TTL_SECONDS,
        cache_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        # Built here, never passed in: a memo shared by verifiers with other settings
        # would accept their tokens. token_cache.py says why the memo weakens nothing.
        self._verified = token_cache.VerifiedTokenCache(
            cache_capacity, cache_ttl_seconds, clock=cache_clock
        )
        self._jwks = (
            _JwksCache(settings.jwks_url, jwks_refresh_floor_seconds) if settings.jwks_url else None
        )
        self._static_key: Any = settings.public_key or settings.secret

    async def verify(self, token: str) -> Principal:
        principal = self._verified.get(token)
        if principal is None:
            principal = await self._verify_fully(token)
            self._verified.put(token, principal)
        return principal

    async def _verify_fully(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthenticated("token too large", reason="TOKEN_INVALID")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("malformed token", reason="TOKEN_INVALID") from exc
        algorithm = header.get("alg")
        if algorithm not in self._settings.algorithms:
            # Covers alg=none and the HS-with-public-key confusion attack.
            raise Unauthenticated("token algorithm not accepted", reason="TOKEN_INVALID")
        key = await self._jwks.key_for(header.get("kid")) if self._jwks else self._static_key
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=list(self._settings.algorithms),
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                leeway=self._settings.leeway_seconds,
                options={
                    "require": ["exp", "sub"],
                    "verify_aud": self._settings.audience is not None,
                    "verify_iss": self._settings.issuer is not None,
                },
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", reason="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated("invalid token", reason="TOKEN_INVALID") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 128:
            raise Unauthenticated("token subject missing or invalid", reason="TOKEN_INVALID")
        exp = claims.get("exp")
        return Principal(
            user_id=subject, token=token, expires_at=float(exp) if exp is not None else None
        )


def issue_token(settings: JwtSettings, subject: str, ttl_seconds: int) -> str:
    """Signs a token for local use (`todochat token`); needs an HMAC secret."""
    if settings.secret is None:
        raise ValueError(
            "signing needs JWT_SECRET (or the local dev secret); this deployment "
            "verifies with a public key, so tokens come from its identity provider"
        )
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + ttl_seconds}
    if settings.issuer:
        claims["iss"] = settings.issuer
    if settings.audience:
        claims["aud"] = settings.audience
    algorithm = next((a for a in settings.algorithms if a.startswith("HS")), "HS256")
    return jwt.encode(claims, settings.secret, algorithm=algorithm)
