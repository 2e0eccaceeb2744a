"""Errors through Envoy: the grpc-gateway status table and a google.rpc.Status JSON body,
from the services (convert_grpc_status) and from Envoy itself (local_reply_config)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def _reasons(body: dict[str, Any]) -> list[str]:
    return [d["reason"] for d in body["details"] if d["@type"] == ERROR_INFO]


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-token"),
        pytest.param("Bearer not-a-jwt", id="garbage-token"),
        pytest.param("Basic dXNlcjpwdw==", id="wrong-scheme"),
    ],
)
async def test_unauthenticated_is_401_with_the_status_body(
    client: httpx.AsyncClient, user_id: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"authorization": authorization}

    response = await client.get(f"/api/{user_id}/tasks", headers=headers)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == 16 and body["message"]
    assert _reasons(body), "ErrorInfo detail rendered from grpc-status-details-bin"
    # grpc-gateway also sends WWW-Authenticate; Envoy has no such mapping.
    assert "www-authenticate" not in response.headers


async def test_another_users_path_is_403(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    response = await client.get(f"/api/not-{user_id}/tasks", headers=headers)

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == 7 and _reasons(body) == ["USER_MISMATCH"]


async def test_another_users_task_is_404(
    client: httpx.AsyncClient, token_for: Callable[[str], str], user_id: str
) -> None:
    owner = {"authorization": f"Bearer {token_for(user_id)}"}
    created = await client.post(f"/api/{user_id}/tasks", json={"title": "secret"}, headers=owner)
    task_id = created.json()["id"]
    intruder = f"intruder-{user_id}"
    theirs = {"authorization": f"Bearer {token_for(intruder)}"}

    response = await client.get(f"/api/{intruder}/tasks/{task_id}", headers=theirs)

    assert response.status_code == 404
    body = response.json()
    assert body["code"] == 5 and _reasons(body) == ["TASK_NOT_FOUND"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({"title": ""}, "title", id="empty-title"),
        pytest.param({"title": "x" * 201}, "title", id="long-title"),
        pytest.param({"title": "ok", "description": "d" * 1001}, "description", id="long-desc"),
    ],
)
async def test_bad_input_is_400_naming_the_field(
    client: httpx.AsyncClient,
    user_id: str,
    headers: dict[str, str],
    payload: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(f"/api/{user_id}/tasks", json=payload, headers=headers)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3
    [bad] = [d for d in body["details"] if d["@type"] == BAD_REQUEST]
    # preserve_proto_field_names applies to details too: field_violations, snake_case.
    assert [v["field"] for v in bad["field_violations"]] == [field]


async def test_bad_enum_is_rejected_by_envoy_before_the_service(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"/api/{user_id}/tasks", json={"title": "t", "priority": "URGENT"}, headers=headers
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3 and body["details"] == []
    assert "URGENT" in body["message"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/api/nothing/here/at/all", id="unknown-path"),
        pytest.param("GET", "/", id="root"),
        # The gateway serves these; Envoy has no such endpoints.
        pytest.param("GET", "/openapi.json", id="openapi"),
        # grpc-gateway: 501 (Unimplemented) for a known path with the wrong method.
        pytest.param("PATCH", "/api/u/tasks", id="wrong-method"),
    ],
)
async def test_unmatched_requests_are_404_with_a_status_body(
    client: httpx.AsyncClient, headers: dict[str, str], method: str, path: str
) -> None:
    response = await client.request(method, path, headers=headers)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == 5 and body["details"] == []
    assert body["message"].startswith("Could not resolve")


async def test_malformed_json_is_400_with_a_status_body(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"/api/{user_id}/tasks",
        content=b'{"title": ',
        headers={**headers, "content-type": "application/json"},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 3 and body["message"]


async def test_body_over_the_limit_is_413(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    big = {"title": "t", "description": "x" * (1024 * 1024 + 10)}

    response = await client.post(f"/api/{user_id}/tasks", json=big, headers=headers)

    assert response.status_code == 413
    assert response.json()["code"] == 8


async def test_grpc_status_headers_leak_into_rest_responses(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    # Envoy copies the unary trailers into HTTP/1 headers; grpc-gateway never sends them.
    response = await client.get(f"/api/{user_id}/tasks", headers=headers)

    assert response.headers["grpc-status"] == "0"
