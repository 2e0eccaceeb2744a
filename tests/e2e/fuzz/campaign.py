"""Drives schemathesis over every operation of the served OpenAPI document.

Each operation gets a Hypothesis run of schemathesis's own case strategy (positive data,
then negative data where the operation has inputs), combined with a caller drawn from
CALLERS: mostly the owner (a valid token whose subject also fills `user_id` wherever a
path or body carries one, and a task or conversation id the user really has), some
callers with a valid token whose path `user_id` stays the generated one (403), and some
with no token or with the owner's token under a tampered signature (401). Every
response goes through the given checks; each request sent is counted.

Synchronous (requests, under schemathesis's transport): run it in a worker thread while
the event loop that hosts the services keeps serving.
"""

from __future__ import annotations

import collections
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, CheckFunction, GenerationMode
from schemathesis.core.failures import FailureGroup

OWNER, STRANGER, ANONYMOUS, FORGED = "owner", "stranger", "anonymous", "forged"
# 7 in 10 calls as the owner, so most reach the service rather than stop at 401/403.
CALLERS = (OWNER,) * 7 + (STRANGER,) * 2 + (ANONYMOUS, FORGED)
# Slower than any turn of the offline agent; a hang fails the run instead of stalling it.
REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class World:
    """Who calls, and ids that exist for that user (seeded before the run)."""

    base_url: str
    user: str
    token: str
    task_ids: tuple[str, ...]
    conversation_ids: tuple[str, ...]
    # Extra headers per operation path, e.g. the Accept of a streaming call.
    headers_for: Callable[[APIOperation], dict[str, str]] = lambda _op: {}


@dataclass
class Tally:
    requests: int = 0
    by_operation: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: dict[str, collections.Counter[int]] = field(
        default_factory=lambda: collections.defaultdict(collections.Counter)
    )
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, operation: str, status: int) -> None:
        self.requests += 1
        self.by_operation[operation] += 1
        self.statuses[operation][status] += 1

    def report(self) -> str:
        lines = [f"{self.requests} requests in {self.seconds:.1f} s"]
        for operation in sorted(self.by_operation):
            codes = " ".join(f"{c}x{n}" for c, n in sorted(self.statuses[operation].items()))
            lines.append(f"  {operation:<52} {self.by_operation[operation]:>4}  {codes}")
        return "\n".join(lines)


def _has_inputs(operation: APIOperation) -> bool:
    return bool(list(operation.iter_parameters())) or bool(operation.body)


def personalize(case: Case, caller: str, known_id: str | None, world: World) -> dict[str, str]:
    """Rewrites the generated case for `caller`; returns the headers to send."""
    params = case.path_parameters if case.path_parameters is not None else {}
    if caller == OWNER:
        if "user_id" in params:
            params["user_id"] = world.user
        if isinstance(case.body, dict) and "user_id" in case.body:
            case.body["user_id"] = world.user
        for name in ("task_id", "conversation_id"):
            if name in params and known_id is not None:
                params[name] = known_id
    headers = dict(case.headers or {})
    headers.pop("Authorization", None)
    if caller in (OWNER, STRANGER):
        headers["Authorization"] = f"Bearer {world.token}"
    elif caller == FORGED:
        headers["Authorization"] = f"Bearer {world.token[:-4]}AAAA"
    headers.update(world.headers_for(case.operation))
    case.headers = headers
    return headers


def known_ids(operation: APIOperation, world: World) -> st.SearchStrategy[str | None]:
    """Half the time a real id of the owner (None: keep the generated one)."""
    path = operation.path
    ids = world.task_ids if "{task_id}" in path else ()
    ids = world.conversation_ids if "{conversation_id}" in path else ids
    if not ids:
        return st.none()
    return st.one_of(st.none(), st.sampled_from(ids))


def fuzz_operation(
    operation: APIOperation,
    mode: GenerationMode,
    examples: int,
    world: World,
    checks: Sequence[CheckFunction],
    tally: Tally,
    session: requests.Session,
    run_seed: int,
) -> None:
    """Up to `examples` cases of `mode`; a failing check is recorded, not raised."""
    label = f"{operation.method.upper()} {operation.path}"
    # One seed per run, varied per operation: same-shaped operations (Chat, StreamChat)
    # must not get identical cases.
    case_seed = run_seed ^ zlib.crc32(f"{label} {mode.value}".encode())

    @seed(case_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written to .hypothesis/
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(
        case=operation.as_strategy(generation_mode=mode),
        caller=st.sampled_from(CALLERS),
        known=known_ids(operation, world),
    )
    def run(case: Case, caller: str, known: str | None) -> None:
        headers = personalize(case, caller, known, world)
        response = case.call(
            base_url=world.base_url,
            session=session,
            headers=headers,
            timeout=REQUEST_TIMEOUT_SECONDS,
        )
        tally.record(label, response.status_code)
        case.validate_response(response, checks=list(checks), headers=headers)

    try:
        run()
    # schemathesis reports check failures as a FailureGroup, a BaseExceptionGroup.
    except (Exception, FailureGroup) as failure:
        tally.failures.append(f"{label} [{mode.value}, seed {run_seed}]:\n{failure}")


def fuzz_all(
    operations: Sequence[APIOperation],
    world: World,
    checks: Sequence[CheckFunction],
    examples: Callable[[APIOperation, GenerationMode], int],
    run_seed: int,
) -> Tally:
    tally = Tally()
    started = time.perf_counter()
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if mode is GenerationMode.NEGATIVE and not _has_inputs(operation):
                    continue  # nothing to break: Hypothesis would find no negative case
                count = examples(operation, mode)
                if count:
                    fuzz_operation(operation, mode, count, world, checks, tally, session, run_seed)
    tally.seconds = time.perf_counter() - started
    return tally


def ordered(operations: Sequence[APIOperation]) -> list[APIOperation]:
    """Deletions last, so the seeded ids serve every other operation first."""
    return sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.path, op.method))
