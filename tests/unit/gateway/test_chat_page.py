"""The chat page under /chat: its files, content types, CSP and caching, and that no
request under /chat ever reaches a gRPC route, even one whose template would match."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from grpc import aio
from todochat.tasks.v1 import tasks_service_pb2

from services.gateway.runtime.app import GatewayApp
from services.gateway.runtime.options import Backend, GatewayOptions
from services.gateway.runtime.route import PathTemplate, Route
from services.gateway.static import assets
from tests.gateway_protos.backends import Backends, Recorder

STATIC = Path(assets.__file__).parent
METHODS = ("GET", "POST", "DELETE")


def _catch_all(http_method: str) -> Route:
    """`/**` bound to ListTasks: a route that would take any path the page did not."""
    return Route(
        service="todochat.tasks.v1.TaskService",
        method="ListTasks",
        http_method=http_method,
        template=PathTemplate(source="/**", segments=("**",)),
        request_type=tasks_service_pb2.ListTasksRequest,
        response_type=tasks_service_pb2.ListTasksResponse,
    )


@pytest.fixture
async def http(backends: Backends) -> AsyncIterator[httpx.AsyncClient]:
    channel = aio.insecure_channel(backends.target)
    backend = Backend(backends.target, channel, ("todochat.tasks.v1.TaskService",))
    app = GatewayApp([_catch_all(m) for m in METHODS], [backend], GatewayOptions())
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as client:
        yield client
    await app.aclose()


@pytest.mark.parametrize(
    ("path", "file", "content_type"),
    [
        pytest.param("/chat", "chat.html", "text/html; charset=utf-8", id="page"),
        pytest.param("/chat/app.js", "app.js", "text/javascript; charset=utf-8", id="app.js"),
        pytest.param("/chat/api.js", "api.js", "text/javascript; charset=utf-8", id="api.js"),
        pytest.param("/chat/view.js", "view.js", "text/javascript; charset=utf-8", id="view.js"),
        pytest.param("/chat/app.css", "app.css", "text/css; charset=utf-8", id="app.css"),
        pytest.param("/chat/icon.svg", "icon.svg", "image/svg+xml", id="icon"),
    ],
)
async def test_each_file_is_served_with_its_type_csp_and_cache_headers(
    http: httpx.AsyncClient, recorder: Recorder, path: str, file: str, content_type: str
) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.content == (STATIC / file).read_bytes()
    assert response.headers["content-type"] == content_type
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-length"] == str(len(response.content))

    revalidated = await http.get(path, headers={"if-none-match": response.headers["etag"]})
    assert revalidated.status_code == 304 and revalidated.content == b""
    head = await http.head(path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == response.headers["etag"]
    assert recorder.calls == []


async def test_the_page_loads_only_files_the_gateway_serves(http: httpx.AsyncClient) -> None:
    page = (await http.get("/chat")).text
    # No inline script, style or handler: the CSP would block them.
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.search(r"\s(style|on[a-z]+)=", page) is None
    linked = re.findall(r'(?:src|href)="([^"]+)"', page)
    modules = re.findall(r'from "\./([^"]+)"', (await http.get("/chat/app.js")).text)
    assert linked and modules
    for url in [*linked, *(f"/chat/{name}" for name in modules)]:
        assert url.startswith("/chat/"), url
        assert (await http.get(url)).status_code == 200, url


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        pytest.param("GET", "/chat/missing.js", 404, id="unknown-file"),
        pytest.param("GET", "/chat/api/u1/tasks", 404, id="api-like-path"),
        pytest.param("GET", "/chat/", 404, id="trailing-slash"),
        pytest.param("POST", "/chat", 405, id="post-page"),
        pytest.param("DELETE", "/chat/app.js", 405, id="delete-file"),
        pytest.param("POST", "/chat/missing", 404, id="post-unknown"),
    ],
)
async def test_nothing_under_chat_reaches_a_grpc_route(
    http: httpx.AsyncClient, recorder: Recorder, method: str, path: str, status: int
) -> None:
    response = await http.request(method, path)
    assert response.status_code == status
    assert response.json()["code"] in (5, 12)
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"
    assert recorder.calls == []


@pytest.mark.parametrize("path", ["/chatroom", "/v1/chat", "/"])
async def test_paths_outside_chat_still_reach_the_routes(
    http: httpx.AsyncClient, recorder: Recorder, path: str
) -> None:
    # Proves the catch-all above would have taken the /chat paths had the page not.
    response = await http.post(path)
    assert response.status_code == 200
    assert [call.method for call in recorder.calls] == ["ListTasks"]
