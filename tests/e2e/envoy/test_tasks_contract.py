"""The frontend's TaskService contract (design.md) through Envoy, call by call.

Where Envoy answers differently from grpc-gateway (and our gateway), the assertion
states Envoy's real behaviour and the comment names the difference; the list is in
docs/envoy-differences.md.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

# Keys Envoy prints for a task whose optional and message fields are unset. grpc-gateway
# also prints `description`, `due_time` and `completed_at`, as null: Envoy's
# always_print_primitive_fields never prints an unset message or proto3 optional field.
ALWAYS_PRINTED = {
    "id",
    "user_id",
    "title",
    "completed",
    "created_at",
    "updated_at",
    "priority",
    "tags",
}


async def _add(client: httpx.AsyncClient, user: str, headers: dict[str, str], **body: Any) -> Any:
    response = await client.post(f"/api/{user}/tasks", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_add_returns_the_bare_task_in_snake_case(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    response = await client.post(
        f"/api/{user_id}/tasks", json={"title": "buy milk", "tags": ["Home"]}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    task = response.json()
    assert set(task) == ALWAYS_PRINTED, "response_body: the Task itself, not {task: …}"
    uuid.UUID(task["id"])
    assert (task["user_id"], task["title"], task["tags"]) == (user_id, "buy milk", ["home"])
    assert task["completed"] is False, "primitive fields are printed even when default"
    assert task["priority"] == "PRIORITY_UNSPECIFIED", "enums as names"
    assert task["created_at"].endswith("Z") and task["created_at"] == task["updated_at"]


async def test_add_accepts_camel_case_and_prints_set_fields(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    task = await _add(
        client,
        user_id,
        headers,
        title="pay rent",
        description="before Friday",
        dueTime="2030-01-04T10:00:00Z",
        priority="PRIORITY_HIGH",
    )

    assert set(task) == ALWAYS_PRINTED | {"description", "due_time"}
    assert task["description"] == "before Friday"
    assert task["due_time"] == "2030-01-04T10:00:00Z"
    assert task["priority"] == "PRIORITY_HIGH"


async def test_list_is_a_bare_array_filtered_searched_and_paged(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    first = await _add(client, user_id, headers, title="buy milk")
    await _add(client, user_id, headers, title="walk the dog")
    done = await _add(client, user_id, headers, title="buy bread")
    completed = await client.patch(f"/api/{user_id}/tasks/{done['id']}/complete", headers=headers)
    assert completed.status_code == 200

    everything = await client.get(f"/api/{user_id}/tasks", headers=headers)
    assert everything.status_code == 200
    assert [t["title"] for t in everything.json()] == ["buy bread", "walk the dog", "buy milk"]

    pending = await client.get(
        f"/api/{user_id}/tasks", params={"status": "pending", "sort": "title"}, headers=headers
    )
    assert [t["title"] for t in pending.json()] == ["buy milk", "walk the dog"]

    # `+` is a space, as in grpc-gateway's Go query parser (query_param_unescape_plus).
    searched = await client.get(f"/api/{user_id}/tasks?search=buy+milk", headers=headers)
    assert [t["id"] for t in searched.json()] == [first["id"]]

    page = await client.get(
        f"/api/{user_id}/tasks", params={"page_size": 2, "sort": "title"}, headers=headers
    )
    assert [t["title"] for t in page.json()] == ["buy bread", "buy milk"]
    token = page.headers["next-page-token"]
    # Envoy sends metadata as plain headers; the config adds grpc-gateway's spelling too.
    assert page.headers["grpc-metadata-next-page-token"] == token
    rest = await client.get(
        f"/api/{user_id}/tasks",
        params={"page_size": 2, "sort": "title", "page_token": token},
        headers=headers,
    )
    assert [t["title"] for t in rest.json()] == ["walk the dog"]
    assert "next-page-token" not in rest.headers
    assert "grpc-metadata-next-page-token" not in rest.headers


async def test_empty_list_is_an_empty_array(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    response = await client.get(f"/api/{user_id}/tasks", headers=headers)

    assert response.status_code == 200
    assert response.json() == []


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("_=1733000000000", id="cache-buster"),
        pytest.param("utm_source=mail&status=all", id="tracking-parameter"),
    ],
)
async def test_unknown_query_parameters_are_ignored(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str], query: str
) -> None:
    # Deliberate: ignore_unknown_query_parameters, as grpc-gateway, not Envoy's
    # reject_unknown_query_parameters (400), which would break such frontend calls.
    task = await _add(client, user_id, headers, title="kept")

    response = await client.get(f"/api/{user_id}/tasks?{query}", headers=headers)

    assert response.status_code == 200, response.text
    assert [t["id"] for t in response.json()] == [task["id"]]


async def test_get_update_complete_and_delete(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    task = await _add(client, user_id, headers, title="draft", description="old")
    url = f"/api/{user_id}/tasks/{task['id']}"

    got = await client.get(url, headers=headers)
    assert got.status_code == 200 and got.json() == task

    updated = await client.put(
        url, json={"title": "final", "description": "new", "completed": True}, headers=headers
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert (body["title"], body["description"], body["completed"]) == ("final", "new", True)
    assert set(body) == ALWAYS_PRINTED | {"description", "completed_at"}

    toggled = await client.patch(f"{url}/complete", headers=headers)
    assert toggled.status_code == 200 and toggled.json()["completed"] is False
    assert "completed_at" not in toggled.json(), "unset again: omitted, grpc-gateway says null"
    toggled_again = await client.patch(f"{url}/complete", headers=headers)
    assert toggled_again.json()["completed"] is True
    kept = await client.patch(f"{url}/complete", json={"completed": True}, headers=headers)
    assert kept.status_code == 200 and kept.json()["completed"] is True, "a body sets, not toggles"

    deleted = await client.delete(url, headers=headers)
    assert deleted.status_code == 200
    assert deleted.json() == {}

    gone = await client.get(url, headers=headers)
    assert gone.status_code == 404
    assert gone.json()["code"] == 5


async def test_body_value_wins_over_the_path(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    # grpc-gateway sets path parameters after the body, so the path wins and this is a
    # 403 (path user != token subject). Envoy lets the body win: the request acts as
    # the body's user_id, here the caller, so it succeeds on the caller's own tasks.
    response = await client.post(
        f"/api/someone-else-{user_id}/tasks",
        json={"title": "mine", "user_id": user_id},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert response.json()["user_id"] == user_id


async def test_query_is_still_bound_with_body_star(
    client: httpx.AsyncClient, user_id: str, headers: dict[str, str]
) -> None:
    # grpc-gateway ignores the query when body is "*"; Envoy binds it (the body wins on
    # a collision, so only fields absent from the body come from the query).
    response = await client.post(
        f"/api/{user_id}/tasks?description=from-query", json={"title": "t"}, headers=headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["description"] == "from-query"
