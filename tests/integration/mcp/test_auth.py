"""No valid bearer token, no MCP: 401 with a Bearer challenge before anything runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings
from tests.integration.mcp.conftest import McpEnv

_OTHER_KEY = JwtSettings(
    algorithms=("HS256",), secret="another-secret-that-is-long-enough-0123456789"
)
_NO_TOKEN = 'Bearer realm="todochat"'


def _add_task_call(title: str) -> dict[str, Any]:
    """A complete tools/call, which the stateless endpoint would run as it stands."""
    return {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "add_task", "arguments": {"title": title}},
    }


async def _post(url: str, authorization: str | None, body: dict[str, Any]) -> httpx.Response:
    headers = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
    }
    if authorization is not None:
        headers["authorization"] = authorization
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(url, json=body, headers=headers)


async def _titles(
    stub: tasks_service_pb2_grpc.TaskServiceStub, token_for: Callable[[str], str], user: str
) -> list[str]:
    md = (("authorization", f"Bearer {token_for(user)}"),)
    return [t.title for t in (await stub.ListTasks(pb.ListTasksRequest(), metadata=md)).tasks]


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        pytest.param(lambda user, jwt: None, _NO_TOKEN, id="no-header"),
        pytest.param(lambda user, jwt: "Bearer", 'error="invalid_token"', id="empty-bearer"),
        pytest.param(lambda user, jwt: "Basic dXNlcjpwdw==", 'error="invalid_token"', id="basic"),
        pytest.param(lambda user, jwt: "Bearer not-a-jwt", 'error="invalid_token"', id="garbage"),
        pytest.param(
            lambda user, jwt: f"Bearer {issue_token(_OTHER_KEY, user, 3600)}",
            'error="invalid_token"',
            id="other-key",
        ),
        pytest.param(
            lambda user, jwt: f"Bearer {issue_token(jwt, user, -3600)}",
            'error_description="token expired"',
            id="expired",
        ),
    ],
)
async def test_refused_with_a_bearer_challenge_and_nothing_runs(
    endpoint: str,
    tasks_stub: tasks_service_pb2_grpc.TaskServiceStub,
    token_for: Callable[[str], str],
    jwt_settings: JwtSettings,
    user_id: str,
    authorization: Callable[[str, JwtSettings], str | None],
    challenge: str,
) -> None:
    refused = await _post(endpoint, authorization(user_id, jwt_settings), _add_task_call("no"))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith(_NO_TOKEN)
    assert challenge in refused.headers["www-authenticate"]
    assert refused.json()["error_description"]
    # The same call with a good token runs, so the refusal above is the gate's doing.
    accepted = await _post(endpoint, f"Bearer {token_for(user_id)}", _add_task_call("accepted"))
    assert accepted.status_code == 200
    assert await _titles(tasks_stub, token_for, user_id) == ["accepted"]


def _leaves(error: BaseException) -> list[BaseException]:
    """The errors inside (nested) exception groups, which the SDK's task groups raise."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


@pytest.mark.parametrize("token", [None, "not-a-jwt"], ids=["no-token", "bad-token"])
async def test_the_sdk_client_cannot_connect_without_a_valid_token(
    env: McpEnv, token: str | None
) -> None:
    with pytest.raises((MCPError, BaseExceptionGroup)) as failed:
        async with env.client(token) as client:
            await client.list_tools()
    assert any(isinstance(leaf, MCPError) for leaf in _leaves(failed.value))


async def test_dns_rebinding_is_refused_on_loopback(
    endpoint: str,
    tasks_stub: tasks_service_pb2_grpc.TaskServiceStub,
    token_for: Callable[[str], str],
    user_id: str,
) -> None:
    """A web page reaching 127.0.0.1 through a name it controls gets nothing done."""
    headers = {
        "authorization": f"Bearer {token_for(user_id)}",
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": "2025-11-25",
        "host": "evil.example:80",
    }
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(endpoint, json=_add_task_call("rebound"), headers=headers)
    assert reply.status_code == 421
    assert await _titles(tasks_stub, token_for, user_id) == []
