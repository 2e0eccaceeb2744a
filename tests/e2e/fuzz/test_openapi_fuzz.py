"""schemathesis over GET /openapi.json, through the Python gateway in front of the real
TaskService and ChatService (offline TodoBot, no rate limit), as a user with a valid
token: no 5xx, and every response documented (status, content type, schema).

How the calls are made (tests/e2e/fuzz/campaign.py): per operation, positive cases then
negative ones; 7 in 10 as the owner (token subject in `user_id`, a real task or
conversation id half the time), the rest with a mismatched `user_id` (403), no token
or a forged one (401). Deletions run last so the seeded ids serve the rest first.

Streaming (`POST /api/chat:stream`) is called with `Accept: application/x-ndjson`:
with the default Accept the gateway labels the NDJSON stream `application/json`, as
grpc-gateway does, and no JSON parser reads several lines as one document. schemathesis
skips the NDJSON media type, so tests/e2e/fuzz/streams.py validates every line against
the document's envelope schema instead.

Nothing is written to the checkout: Hypothesis runs without its example database, its
other files go to a temp dir, and the test runs in that dir (schemathesis and
Hypothesis write `.schemathesis/` and `.hypothesis/` into the working directory). Replay a failing run with the seed its
report prints: TODOCHAT_FUZZ_SEED=<seed>.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import APIOperation, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.fuzz.campaign import World, fuzz_all, ordered
from tests.e2e.fuzz.conftest import Gateway
from tests.e2e.fuzz.streams import NDJSON, ndjson_conformance

pytestmark = pytest.mark.postgres

MIN_REQUESTS = 1000
# Per operation and generation mode; chat turns run the agent, so they get fewer.
POSITIVE_EXAMPLES = 70
NEGATIVE_EXAMPLES = 30
CHAT_SHARE = 0.6
SEEDED_TASKS = 12
SEEDED_CONVERSATIONS = 3


def _examples(operation: APIOperation, mode: GenerationMode) -> int:
    base = POSITIVE_EXAMPLES if mode is GenerationMode.POSITIVE else NEGATIVE_EXAMPLES
    if "/chat" in operation.path:
        return int(base * CHAT_SHARE)
    return base


def _headers_for(operation: APIOperation) -> dict[str, str]:
    return {"Accept": NDJSON} if operation.path.endswith(":stream") else {}


async def _seed(base_url: str, user: str, token: str) -> tuple[list[str], list[str]]:
    """Tasks and conversations the owner really has, made through the REST face."""
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        tasks = []
        for i in range(SEEDED_TASKS):
            added = await http.post(f"/api/{user}/tasks", json={"title": f"seeded {i}"})
            assert added.status_code == 200, added.text
            tasks.append(added.json()["id"])
        conversations = []
        for i in range(SEEDED_CONVERSATIONS):
            turn = await http.post("/api/chat", json={"content": f"add fuzz seed {i}"})
            assert turn.status_code == 200, turn.text
            conversations.append(turn.json()["conversation_id"])
    return tasks, conversations


async def test_every_operation_answers_as_documented_under_fuzzing(
    gateway: Gateway,
    user_id: str,
    token_for: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Hypothesis fixed its storage dir (unicode tables, constants) from the cwd at import.
    monkeypatch.chdir(tmp_path)
    set_hypothesis_home_dir(tmp_path / ".hypothesis")
    try:
        await _fuzz(gateway, user_id, token_for(user_id))
    finally:
        set_hypothesis_home_dir(None)


async def _fuzz(gateway: Gateway, user_id: str, token: str) -> None:
    task_ids, conversation_ids = await _seed(gateway.base_url, user_id, token)
    schema = await asyncio.to_thread(
        schemathesis.openapi.from_url,
        f"{gateway.base_url}/openapi.json",
        config=schemathesis.Config(),
    )
    operations = ordered([result.ok() for result in schema.get_all_operations()])
    world = World(
        base_url=gateway.base_url,
        user=user_id,
        token=token,
        task_ids=tuple(task_ids),
        conversation_ids=tuple(conversation_ids),
        headers_for=_headers_for,
    )
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        ndjson_conformance(schema.raw_schema),
    ]
    run_seed = int(os.environ.get("TODOCHAT_FUZZ_SEED") or random.getrandbits(32))

    tally = await asyncio.to_thread(fuzz_all, operations, world, checks, _examples, run_seed)

    logging.getLogger(__name__).info("fuzzing: %s", tally.report())
    assert not tally.failures, "\n\n".join(tally.failures)
    assert tally.requests >= MIN_REQUESTS, tally.report()
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert set(tally.by_operation) == labels, tally.report()
    # Fuzzing that only ever hears 400/401/403/404 never reaches the services' happy
    # paths: every operation must have answered 2xx at least once.
    unreached = [op for op, codes in tally.statuses.items() if not any(c < 300 for c in codes)]
    assert not unreached, f"never a 2xx: {unreached}\n{tally.report()}"
