"""The web frontend's contract (design.md's REST tables), through BOTH REST faces.

Every call runs against the Python gateway and against a live Envoy, each in front of
the same real TaskService and ChatService (offline TodoBot) on PostgreSQL. Where Envoy
cannot match grpc-gateway, the assertion names the difference (deploy/envoy/README.md).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest

from services.chat import app as chat_app
from services.gateway import app as gateway_app
from services.gateway.envoy import render_local
from services.servicekit.config import (
    ChatSettings,
    GatewaySettings,
    JwtSettings,
    LlmSettings,
    ServerSettings,
)
from tests.envoy_harness import start_envoy
from tests.integration.tasks.conftest import start_tasks

ORIGIN = "http://localhost:3000"
TASK_FIELDS = {"id", "user_id", "title", "description", "completed", "created_at", "updated_at"}


@dataclass
class Faces:
    gateway: httpx.AsyncClient
    envoy: httpx.AsyncClient


@pytest.fixture
async def faces(postgres_url: str, jwt_settings: JwtSettings) -> AsyncIterator[Faces]:
    tasks = await start_tasks(postgres_url, jwt_settings)
    chat_settings = ChatSettings(
        server=ServerSettings("127.0.0.1", 0, grace_seconds=1),
        database_url=postgres_url,
        tasks_target=tasks.target,
        llm=LlmSettings(provider="offline"),
        rate_limit_per_minute=0,
    )
    await chat_app.migrate(chat_settings)
    chat = chat_app.build(chat_settings, jwt_settings)
    chat_port = await chat.start()
    gateway = gateway_app.build(
        GatewaySettings("127.0.0.1", 0, f"127.0.0.1:{chat_port}", tasks.target, (ORIGIN,))
    )
    try:
        config = render_local(tasks.port, chat_port, 0, 0, cors_origins=(ORIGIN,))
        async with (
            start_envoy(config) as envoy,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://gw", timeout=20
            ) as gw,
            httpx.AsyncClient(base_url=envoy.base_url, timeout=20) as ev,
        ):
            yield Faces(gw, ev)
    finally:
        await gateway.aclose()
        await chat.stop(0)
        await tasks.app.stop(0)


FACES = [pytest.param("gateway", id="gateway"), pytest.param("envoy", id="envoy")]


def _client(faces: Faces, face: str) -> httpx.AsyncClient:
    return faces.gateway if face == "gateway" else faces.envoy


def _check_task(task: dict[str, object], face: str) -> None:
    assert TASK_FIELDS - {"description"} <= set(task), task
    if face == "gateway":
        assert "description" in task, "grpc-gateway prints unset optional fields as null"
    # Envoy omits unset optional fields (deploy/envoy/README.md): absent means null.
    assert isinstance(task["completed"], bool)
    assert str(task["created_at"]).endswith("Z")


@pytest.mark.parametrize("face", FACES)
async def test_task_endpoints(
    faces: Faces, face: str, user_id: str, token_for: Callable[[str], str]
) -> None:
    http = _client(faces, face)
    auth = {"Authorization": f"Bearer {token_for(user_id)}"}
    base = f"/api/{user_id}/tasks"

    created = await http.post(base, json={"title": "buy milk", "description": "2 l"}, headers=auth)
    assert created.status_code == 200, created.text
    task = created.json()
    _check_task(task, face)
    assert (task["title"], task["description"], task["completed"], task["user_id"]) == (
        "buy milk",
        "2 l",
        False,
        user_id,
    )
    bare = (await http.post(base, json={"title": "call mom"}, headers=auth)).json()
    if face == "gateway":
        assert bare["description"] is None

    listed = await http.get(base, params={"status": "pending"}, headers=auth)
    assert listed.status_code == 200
    assert isinstance(listed.json(), list), "ListTasks is a bare JSON array"
    assert {t["title"] for t in listed.json()} == {"buy milk", "call mom"}

    got = await http.get(f"{base}/{task['id']}", headers=auth)
    assert got.status_code == 200 and got.json()["id"] == task["id"]

    updated = await http.put(
        f"{base}/{task['id']}", json={"title": "buy oat milk", "completed": True}, headers=auth
    )
    assert updated.status_code == 200
    assert (updated.json()["title"], updated.json()["completed"]) == ("buy oat milk", True)

    toggled = await http.patch(f"{base}/{task['id']}/complete", headers=auth)
    assert toggled.status_code == 200 and toggled.json()["completed"] is False, "no body toggles"
    set_true = await http.patch(
        f"{base}/{task['id']}/complete", json={"completed": True}, headers=auth
    )
    assert set_true.json()["completed"] is True

    deleted = await http.delete(f"{base}/{task['id']}", headers=auth)
    assert deleted.status_code == 200 and deleted.json() == {}
    assert (await http.get(f"{base}/{task['id']}", headers=auth)).status_code == 404


@pytest.mark.parametrize("face", FACES)
async def test_errors_map_to_the_design_table(
    faces: Faces, face: str, user_id: str, token_for: Callable[[str], str]
) -> None:
    http = _client(faces, face)
    auth = {"Authorization": f"Bearer {token_for(user_id)}"}
    base = f"/api/{user_id}/tasks"
    theirs = (
        await http.post(
            f"/api/{user_id}-b/tasks",
            json={"title": "x"},
            headers={"Authorization": f"Bearer {token_for(user_id + '-b')}"},
        )
    ).json()

    cases = [
        (await http.get(base), 401),
        (await http.get(base, headers={"Authorization": "Bearer nonsense"}), 401),
        (await http.get(f"/api/{user_id}-b/tasks", headers=auth), 403),
        (await http.get(f"{base}/{theirs['id']}", headers=auth), 404),
        (await http.post(base, json={"title": ""}, headers=auth), 400),
        (await http.post(base, json={"title": "x" * 201}, headers=auth), 400),
        (await http.get(f"{base}/not-a-uuid", headers=auth), 400),
        (await http.post("/api/chat", json={"content": ""}, headers=auth), 400),
        (
            await http.get("/api/conversations/00000000-0000-0000-0000-000000000000", headers=auth),
            404,
        ),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        body = response.json()
        assert isinstance(body["code"], int) and body["message"], "a google.rpc.Status body"
    owner = {"Authorization": f"Bearer {token_for(user_id + '-b')}"}
    still = await http.get(f"/api/{user_id}-b/tasks/{theirs['id']}", headers=owner)
    assert still.status_code == 200, "the other user's task is untouched"


@pytest.mark.parametrize("face", FACES)
async def test_chat_and_conversation_endpoints(
    faces: Faces, face: str, user_id: str, token_for: Callable[[str], str]
) -> None:
    http = _client(faces, face)
    auth = {"Authorization": f"Bearer {token_for(user_id)}"}
    turn = await http.post("/api/chat", json={"content": "add water the plants"}, headers=auth)
    assert turn.status_code == 200, turn.text
    answer = turn.json()
    assert {"conversation_id", "message_id", "role", "content", "created_at", "tool_calls"} <= set(
        answer
    )
    assert answer["role"] == "assistant"
    call = answer["tool_calls"][0]
    assert (call["name"], call["ok"]) == ("add_task", True)
    assert call["arguments"]["title"].lower() == "water the plants"
    assert call["result"]["title"].lower() == "water the plants"

    again = await http.post(
        f"/api/{user_id}/chat",
        json={"content": "show my tasks", "conversation_id": answer["conversation_id"]},
        headers=auth,
    )
    assert again.status_code == 200 and "plants" in again.json()["content"].lower()

    conversations = (
        await http.get("/api/conversations", params={"limit": 10, "offset": 0}, headers=auth)
    ).json()
    assert isinstance(conversations, list) and len(conversations) == 1
    summary = conversations[0]
    assert {"id", "title", "last_message", "created_at", "updated_at", "message_count"} <= set(
        summary
    )
    assert summary["message_count"] == 4 and isinstance(summary["message_count"], int)

    detail = (await http.get(f"/api/conversations/{summary['id']}", headers=auth)).json()
    assert [m["role"] for m in detail["messages"]] == ["user", "assistant", "user", "assistant"]
    messages = (await http.get(f"/api/conversations/{summary['id']}/messages", headers=auth)).json()
    assert isinstance(messages, list) and len(messages) == 4
    assert {"id", "conversation_id", "role", "content", "tool_calls", "created_at"} <= set(
        messages[1]
    )

    stream = await http.post(
        "/api/chat:stream",
        json={"content": "show my tasks", "conversation_id": summary["id"]},
        headers=auth,
    )
    assert stream.status_code == 200
    lines = [line for line in stream.text.splitlines() if line.strip()]
    events = [json.loads(line) for line in lines]
    if face == "gateway":
        events = [e["result"] for e in events]  # grpc-gateway's envelope; Envoy has none
    assert "tool_call" in events[0] and "done" in events[-1]

    gone = await http.delete(f"/api/conversations/{summary['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json() == {}
    assert (await http.get(f"/api/conversations/{summary['id']}", headers=auth)).status_code == 404


@pytest.mark.parametrize("face", FACES)
async def test_cors_preflight(faces: Faces, face: str) -> None:
    http = _client(faces, face)
    allowed = await http.options(
        "/api/chat",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert allowed.status_code in (200, 204)
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    refused = await http.options(
        "/api/chat",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in refused.headers
