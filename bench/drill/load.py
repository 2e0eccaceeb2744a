"""The drill's load: clients sending chat turns through Envoy's REST face, as a frontend
would, and retrying each turn with its own request_id until it is answered.

Each client is one user with one conversation and sends turns one after another; turn n
of client c says `add drill-c-n`, so every task the drill expects has a title of its own.
A turn is retried on what a frontend should retry: no connection, a timeout, any 5xx,
409 ABORTED (the same turn is still running elsewhere) and 429; any other answer is a
bug and fails the turn at once.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

_FIRST_BACKOFF_SECONDS = 0.05
_MAX_BACKOFF_SECONDS = 1.0
_RETRY_STATUSES = frozenset({409, 429})


@dataclass
class Attempt:
    started: float  # seconds since the drill's clock started
    ended: float
    outcome: str  # "ok", or what went wrong ("503 TASKS_UNAVAILABLE", "connect error")

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


@dataclass
class Turn:
    client: int
    seq: int
    user_id: str
    attempts: list[Attempt] = field(default_factory=list)
    answered_at: float | None = None
    error: str | None = None  # a non-retryable answer, or "gave up"

    @property
    def title(self) -> str:
        return f"drill-{self.client}-{self.seq}"

    @property
    def content(self) -> str:
        return f"add {self.title}"

    @property
    def request_id(self) -> str:
        return f"{self.user_id}-turn-{self.seq}"


@dataclass
class Clock:
    """Seconds since the drill started, shared by the load and the fault schedule."""

    origin: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return time.monotonic() - self.origin

    async def sleep_until(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self.now()))


@dataclass
class LoadPlan:
    base_url: str
    # No new turn starts after this; the drill moves it later when slow restarts push
    # a fault too close to the end to see its recovery.
    stop_sending_at: float
    settle_seconds: float  # how long after that an unanswered turn keeps retrying
    pause_seconds: float
    attempt_timeout_seconds: float

    @property
    def give_up_at(self) -> float:
        return self.stop_sending_at + self.settle_seconds


def _reason(response: httpx.Response) -> str:
    """ErrorInfo.reason from a google.rpc.Status body, else the message, else nothing."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:60]
    if not isinstance(body, dict):
        return ""
    for detail in body.get("details") or ():
        if isinstance(detail, dict) and detail.get("reason"):
            return str(detail["reason"])
    return str(body.get("message", ""))[:60]


def _transport_outcome(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connect error"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return f"transport error ({type(exc).__name__})"


class Client:
    def __init__(self, index: int, user_id: str, token: str, plan: LoadPlan, clock: Clock) -> None:
        self.index = index
        self.user_id = user_id
        self.turns: list[Turn] = []
        self._token = token
        self._plan = plan
        self._clock = clock
        self._conversation_id: str | None = None
        self._random = random.Random(index)

    @staticmethod
    def user_id_for(run_id: str, index: int) -> str:
        return f"drill-{run_id}-{index}"

    async def run(self, turns: int | None = None) -> None:
        """Sends turns until the plan stops sending (or `turns` of them)."""
        headers = {"authorization": f"Bearer {self._token}"}
        timeout = httpx.Timeout(self._plan.attempt_timeout_seconds)
        async with httpx.AsyncClient(
            base_url=self._plan.base_url, headers=headers, timeout=timeout
        ) as http:
            seq = 0
            while self._clock.now() < self._plan.stop_sending_at and seq != turns:
                seq += 1
                turn = Turn(self.index, seq, self.user_id)
                self.turns.append(turn)
                await self._send(http, turn)
                if turn.error is not None and turn.answered_at is None:
                    return  # the conversation is in an unknown state; stop this client
                await asyncio.sleep(self._plan.pause_seconds)

    async def _send(self, http: httpx.AsyncClient, turn: Turn) -> None:
        body: dict[str, str] = {"content": turn.content, "request_id": turn.request_id}
        if self._conversation_id is not None:
            body["conversation_id"] = self._conversation_id
        backoff = _FIRST_BACKOFF_SECONDS
        while True:
            started = self._clock.now()
            if started >= self._plan.give_up_at:
                turn.error = "gave up"
                return
            outcome, answer = await self._attempt(http, body)
            turn.attempts.append(Attempt(started, self._clock.now(), outcome))
            if answer is not None:
                turn.answered_at = self._clock.now()
                self._conversation_id = str(answer["conversation_id"])
                return
            if outcome.startswith("fatal"):
                turn.error = outcome
                return
            # Full jitter: replicas coming back are not hit by every client at once.
            await asyncio.sleep(self._random.uniform(backoff / 2, backoff))
            backoff = min(backoff * 2, _MAX_BACKOFF_SECONDS)

    async def _attempt(
        self, http: httpx.AsyncClient, body: dict[str, str]
    ) -> tuple[str, dict[str, Any] | None]:
        try:
            response = await http.post("/api/chat", json=body)
        except httpx.TransportError as exc:
            return _transport_outcome(exc), None
        if response.status_code == 200:
            return "ok", response.json()
        outcome = f"{response.status_code} {_reason(response)}".strip()
        if response.status_code >= 500 or response.status_code in _RETRY_STATUSES:
            return outcome, None
        return f"fatal {outcome}", None
