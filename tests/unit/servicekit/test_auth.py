"""TokenVerifier: the token matrix, key types, JWKS rotation; and the same matrix
through a real gRPC server (every case → UNAUTHENTICATED, nothing runs)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.auth import Principal, TokenVerifier, bearer_from_metadata
from services.servicekit.config import JwtSettings
from services.servicekit.errors import Unauthenticated
from tests.integration.tasks.conftest import start_tasks

SECRET = "s" * 40
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = (
    RSA_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
ED_KEY = ed25519.Ed25519PrivateKey.generate()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": "alice", "iat": now, "exp": now + 600}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs(secret: str = SECRET, **overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), secret, algorithm="HS256")


def _rs(key: Any = RSA_KEY, **overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), key, algorithm="RS256")


def _alg_none() -> str:
    import base64

    def b64(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(_claims())}."


def _key_confusion() -> str:
    # HS256 signed with the RSA *public* key as the HMAC secret: the classic attack on
    # verifiers that let the token choose the algorithm.
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(_claims()).encode())
    sig = hmac.new(RSA_PUBLIC_PEM.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


HS = JwtSettings(algorithms=("HS256",), secret=SECRET)
RS = JwtSettings(algorithms=("RS256",), public_key=RSA_PUBLIC_PEM)
RS_ISS_AUD = JwtSettings(
    algorithms=("RS256",),
    public_key=RSA_PUBLIC_PEM,
    issuer="https://id.example",
    audience="todochat",
)

REJECTED = [
    pytest.param(HS, "garbage", id="garbage"),
    pytest.param(HS, _alg_none(), id="alg-none"),
    pytest.param(HS, _hs(secret="w" * 40), id="wrong-key"),
    pytest.param(RS, _hs(), id="hs256-when-only-rs256"),
    pytest.param(RS, _key_confusion(), id="hs-rs-key-confusion"),
    pytest.param(RS, _rs(key=OTHER_RSA_KEY), id="rs256-wrong-key"),
    pytest.param(HS, _hs(exp=int(time.time()) - 120), id="expired"),
    pytest.param(HS, _hs(exp=None), id="no-exp"),
    pytest.param(HS, _hs(nbf=int(time.time()) + 600), id="nbf-in-future"),
    pytest.param(HS, _hs(iat=int(time.time()) + 600), id="iat-in-future"),
    pytest.param(HS, _hs(sub=None), id="no-sub"),
    pytest.param(HS, _hs(sub=""), id="empty-sub"),
    pytest.param(RS_ISS_AUD, _rs(iss="https://evil.example", aud="todochat"), id="wrong-iss"),
    pytest.param(RS_ISS_AUD, _rs(iss="https://id.example", aud="other"), id="wrong-aud"),
    pytest.param(RS_ISS_AUD, _rs(aud="todochat"), id="missing-iss"),
    pytest.param(HS, _hs(pad="x" * 8192), id="8kb-token"),
]


@pytest.mark.parametrize(("settings", "token"), REJECTED)
async def test_verifier_rejects(settings: JwtSettings, token: str) -> None:
    with pytest.raises(Unauthenticated):
        await TokenVerifier(settings).verify(token)


@pytest.mark.parametrize(
    ("settings", "token"),
    [
        pytest.param(HS, _hs(), id="hs256"),
        pytest.param(RS, _rs(), id="rs256"),
        pytest.param(RS_ISS_AUD, _rs(iss="https://id.example", aud="todochat"), id="rs256-iss-aud"),
        pytest.param(HS, "expired-5s-ago", id="expired-within-leeway"),
        pytest.param(
            JwtSettings(
                algorithms=("ES256",),
                public_key=EC_KEY.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode(),
            ),
            jwt.encode(_claims(), EC_KEY, algorithm="ES256"),
            id="es256",
        ),
        pytest.param(
            JwtSettings(
                algorithms=("EdDSA",),
                public_key=ED_KEY.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode(),
            ),
            jwt.encode(_claims(), ED_KEY, algorithm="EdDSA"),
            id="eddsa",
        ),
    ],
)
async def test_verifier_accepts(settings: JwtSettings, token: str) -> None:
    if token == "expired-5s-ago":  # made now: collection may be long before the run
        token = _hs(exp=int(time.time()) - 5)
    principal = await TokenVerifier(settings).verify(token)
    assert principal == Principal(user_id="alice", token=token, expires_at=principal.expires_at)
    assert "alice" in repr(principal) and token not in repr(principal)


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param((), id="none"),
        pytest.param((("authorization", "Basic YWxpY2U6cHc="),), id="not-bearer"),
        pytest.param((("authorization", "Bearer "),), id="empty-bearer"),
        pytest.param(
            (("authorization", "Bearer a"), ("authorization", "Bearer b")), id="two-headers"
        ),
    ],
)
def test_bearer_extraction_rejects(metadata: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(Unauthenticated):
        bearer_from_metadata(metadata)


class _Jwks:
    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.fetches = 0


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, _Jwks]]:
    state = _Jwks()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.fetches += 1
            body = json.dumps({"keys": state.keys}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", state
    server.shutdown()
    server.server_close()


def _jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    data.update(kid=kid, alg="RS256", use="sig")
    return data


async def test_jwks_is_cached_and_refreshed_on_unknown_kid(jwks_server: tuple[str, _Jwks]) -> None:
    url, state = jwks_server
    state.keys = [_jwk(RSA_KEY, "k1")]
    verifier = TokenVerifier(
        JwtSettings(algorithms=("RS256",), jwks_url=url), jwks_refresh_floor_seconds=0
    )
    token1 = jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
    assert (await verifier.verify(token1)).user_id == "alice"
    assert (await verifier.verify(token1)).user_id == "alice"
    assert state.fetches == 1, "keys are cached"

    state.keys.append(_jwk(OTHER_RSA_KEY, "k2"))
    token2 = jwt.encode(_claims(sub="bob"), OTHER_RSA_KEY, algorithm="RS256", headers={"kid": "k2"})
    assert (await verifier.verify(token2)).user_id == "bob"
    assert state.fetches == 2, "an unknown kid triggers one refresh"

    forged = jwt.encode(_claims(), OTHER_RSA_KEY, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(Unauthenticated):
        await verifier.verify(forged)


async def test_jwks_unknown_kid_refresh_is_rate_limited(jwks_server: tuple[str, _Jwks]) -> None:
    url, state = jwks_server
    state.keys = [_jwk(RSA_KEY, "k1")]
    verifier = TokenVerifier(
        JwtSettings(algorithms=("RS256",), jwks_url=url), jwks_refresh_floor_seconds=60
    )
    for kid in ("x1", "x2", "x3"):
        with pytest.raises(Unauthenticated):
            await verifier.verify(
                jwt.encode(_claims(), RSA_KEY, algorithm="RS256", headers={"kid": kid})
            )
    assert state.fetches == 1


GRPC_CASES = [
    pytest.param(HS, None, id="no-metadata"),
    pytest.param(HS, "Basic abc", id="not-bearer"),
    pytest.param(HS, "Bearer garbage", id="garbage"),
    *[pytest.param(p.values[0], f"Bearer {p.values[1]}", id=f"grpc-{p.id}") for p in REJECTED],
]


@pytest.mark.parametrize(("settings", "header"), GRPC_CASES)
async def test_every_bad_token_is_unauthenticated_over_grpc(
    sqlite_url: str, settings: JwtSettings, header: str | None
) -> None:
    running = await start_tasks(sqlite_url, settings)
    try:
        async with grpc.aio.insecure_channel(running.target) as channel:
            stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
            metadata = (("authorization", header),) if header is not None else ()
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.AddTask(pb.AddTaskRequest(title="should not exist"), metadata=metadata)
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
            good = f"Bearer {_rs(iss='https://id.example', aud='todochat') if settings.public_key else _hs()}"
            listed = await stub.ListTasks(
                pb.ListTasksRequest(), metadata=(("authorization", good),)
            )
            assert list(listed.tasks) == [], "the rejected call wrote nothing"
    finally:
        await running.app.stop(0)
