"""Chat turns as the web frontend sends them: `POST /api/chat` on the gateway, offline agent.

Each user keeps one conversation and cycles through four phrasings: add a task, ask
what is open, complete the task it just added, show the list. Titles are unique per
user ("buy big red apples"), so "done with big red apples" names exactly one task and
the offline agent never has to ask which one. Users run at once, each a closed loop.
Every answer is checked: HTTP 200 and a last tool call of the expected name that
succeeded; anything else is counted, with the first example kept.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import httpx

_SIZES = ("big", "small", "ripe", "fresh")
_COLOURS = ("red", "green", "blue", "yellow", "purple", "orange", "white", "black")
_THINGS = ("apples", "pears", "plums", "grapes", "lemons", "melons", "cherries", "figs")
_ASK_OPEN = ("what's still open?", "what's left?", "show my pending tasks")
_SHOW = ("show my tasks", "list my tasks", "what are my tasks?")


def _titles() -> list[str]:
    return [f"{s} {c} {t}" for s, c, t in itertools.product(_SIZES, _COLOURS, _THINGS)]


def script(turns: int) -> list[tuple[str, str]]:
    """(what the user says, the tool the answer must end with), `turns` long."""
    titles = _titles()
    said: list[tuple[str, str]] = []
    for n in range(turns):
        title = titles[(n // 4) % len(titles)]
        step = n % 4
        if step == 0:
            said.append((f"add buy {title}", "add_task"))
        elif step == 1:
            said.append((_ASK_OPEN[(n // 4) % len(_ASK_OPEN)], "list_tasks"))
        elif step == 2:
            said.append((f"done with {title}", "complete_task"))
        else:
            said.append((_SHOW[(n // 4) % len(_SHOW)], "list_tasks"))
    return said


@dataclass
class TurnStats:
    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    unexpected: int = 0
    first_problem: str = ""
    seconds: float = 0.0

    def note(self, problem: str) -> None:
        if not self.first_problem:
            self.first_problem = problem[:300]

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _user(
    client: httpx.AsyncClient, token: str, turns: int, stats: TurnStats, deadline: float
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    conversation = ""
    for content, expected in script(turns):
        if time.monotonic() > deadline:
            stats.failed += 1
            stats.note("out of time")
            continue
        body: dict[str, str] = {"content": content}
        if conversation:
            body["conversation_id"] = conversation
        began = time.perf_counter()
        try:
            response = await client.post("/api/chat", json=body, headers=headers)
        except httpx.HTTPError as exc:
            stats.failed += 1
            stats.note(f"{content!r}: {exc!r}")
            continue
        stats.latencies.append(time.perf_counter() - began)
        if response.status_code != 200:
            stats.failed += 1
            stats.note(f"{content!r}: HTTP {response.status_code} {response.text}")
            continue
        answer = response.json()
        conversation = answer["conversation_id"]
        calls = answer.get("tool_calls") or []
        if not calls or calls[-1]["name"] != expected or not calls[-1].get("ok"):
            stats.unexpected += 1
            stats.note(f"{content!r} -> {answer.get('content')!r} {calls[-1:]!r}")


async def run_turns(base_url: str, tokens: list[str], turns: int, within: float) -> TurnStats:
    """`turns` turns split over the users (one per token), all users at once."""
    stats = TurnStats()
    share = [
        turns // len(tokens) + (1 if i < turns % len(tokens) else 0) for i in range(len(tokens))
    ]
    deadline = time.monotonic() + within
    limits = httpx.Limits(max_connections=len(tokens))
    began = time.perf_counter()
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, limits=limits) as client:
        await asyncio.gather(
            *(
                _user(client, token, n, stats, deadline)
                for token, n in zip(tokens, share, strict=True)
            )
        )
    stats.seconds = time.perf_counter() - began
    return stats
