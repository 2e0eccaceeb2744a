"""CORS through Envoy: the cors filter runs before the transcoder (envoy#6608)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.envoy.conftest import ALLOWED_ORIGIN

OTHER_ORIGIN = "https://evil.example"


async def test_preflight_from_an_allowed_origin_is_answered(
    client: httpx.AsyncClient, user_id: str
) -> None:
    response = await client.options(
        f"/api/{user_id}/tasks",
        headers={
            "origin": ALLOWED_ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )

    # grpc-gateway-style gateways answer 204; Envoy's cors filter answers 200.
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    methods = {m.strip() for m in response.headers["access-control-allow-methods"].split(",")}
    assert methods >= {"GET", "POST", "PUT", "PATCH", "DELETE"}
    allowed = {h.strip() for h in response.headers["access-control-allow-headers"].split(",")}
    assert allowed >= {"authorization", "content-type"}
    assert response.headers["access-control-max-age"] == "600"


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/api/u/tasks", id="tasks"),
        pytest.param("/api/chat:stream", id="stream"),
        pytest.param("/api/conversations/c1", id="conversation"),
    ],
)
async def test_preflight_from_another_origin_gets_no_cors_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.options(
        path, headers={"origin": OTHER_ORIGIN, "access-control-request-method": "POST"}
    )

    # The browser refuses: no Access-Control-Allow-Origin. Envoy answers the refused
    # preflight itself (forward_not_matching_preflights: false) with 200; the gateway
    # answers 403 with a Status body.
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_actual_request_from_an_allowed_origin_exposes_the_page_token(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    for title in ("one", "two"):
        await client.post(f"/api/{user_id}/tasks", json={"title": title}, headers=headers)

    response = await client.get(
        f"/api/{user_id}/tasks?page_size=1", headers={**headers, "origin": ALLOWED_ORIGIN}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"next-page-token", "grpc-metadata-next-page-token", "x-request-id"} <= exposed
    assert response.headers["grpc-metadata-next-page-token"]
    assert "Origin" in response.headers.get_list("vary")


async def test_errors_carry_cors_headers_too(client: httpx.AsyncClient, user_id: str) -> None:
    # Without them the browser hides the 401 and the frontend cannot send the user to log in.
    response = await client.get(f"/api/{user_id}/tasks", headers={"origin": ALLOWED_ORIGIN})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


async def test_actual_request_from_another_origin_gets_no_cors_headers(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    response = await client.get(
        f"/api/{user_id}/tasks", headers={**headers, "origin": OTHER_ORIGIN}
    )

    assert response.status_code == 200, "served, but the browser will not show it"
    assert "access-control-allow-origin" not in response.headers
