"""The fault drill: the fleet under chat load while processes and the database fail.

Two ChatService and two TaskService replicas over one PostgreSQL, Envoy in front with
both endpoints of each, ChatService reaching both TaskService replicas through one
round_robin channel; clients send chat turns through Envoy's REST face and retry each
one with its request_id until it is answered, while faults are injected on a schedule
(faults.py). Afterwards the tables are checked against what was sent (verify.py) and
the report says PASS or FAIL against the targets (report.py).

    .venv/bin/python -m bench.drill [--duration 60] [--short]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench._pg import open_database
from bench.drill import fleet
from bench.drill.faults import Fault, FaultSpec, full_schedule, run_faults, short_schedule
from bench.drill.load import Client, Clock, LoadPlan, Turn
from bench.drill.report import RECOVERY_TARGET_SECONDS, render
from bench.drill.verify import Findings, verify
from services.gateway.envoy import render_local
from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings
from tests.envoy_harness import start_envoy

__all__ = ["DrillConfig", "DrillResult", "run_drill"]

# Enough for Envoy's round robin to send each ChatService replica a few.
_WARM_UP_TURNS = 6
# The load goes on at least this long after a fault, to see whether it recovers in
# time: slow restarts (each fault waits for the previous one's) can push the last late.
_LOAD_AFTER_FAULT = RECOVERY_TARGET_SECONDS + 1


def _to_stderr(line: str) -> None:
    sys.stderr.write(f"drill: {line}\n")


@dataclass(frozen=True)
class DrillConfig:
    duration_seconds: float = 60.0
    short: bool = False  # one SIGKILL instead of the full schedule (CI)
    clients: int = 4
    pause_seconds: float = 0.05  # between one client's turns
    # After the load stops, how long unanswered turns keep retrying before they fail.
    settle_seconds: float = 30.0
    attempt_timeout_seconds: float = 10.0
    # A server whose user may CREATE DATABASE; None starts a private cluster (needed
    # for the PostgreSQL restart of the full schedule).
    database_url: str | None = None
    log_level: str = "WARNING"
    keep_workdir: bool = False
    progress: Callable[[str], None] = _to_stderr

    def schedule(self) -> list[FaultSpec]:
        if self.short:
            return short_schedule(self.duration_seconds)
        return full_schedule(self.duration_seconds)


@dataclass
class DrillResult:
    report: str
    passed: bool
    workdir: Path | None  # kept (with every replica's log) on failure or when asked
    turns: list[Turn] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    findings: Findings | None = None


@dataclass
class _Database:
    url: str
    description: str
    cluster: fleet.RestartableCluster | None


@contextlib.asynccontextmanager
async def _database(config: DrillConfig) -> AsyncIterator[_Database]:
    if config.database_url is not None:
        database = await open_database(config.database_url)
        try:
            yield _Database(database.url, "a fresh database on the given server", None)
        finally:
            await database.close()
        return
    cluster = fleet.RestartableCluster()
    try:
        cluster.start()
        yield _Database(cluster.url, "a private throwaway cluster", cluster)
    finally:
        cluster.remove()


async def _start_fleet(
    stack: contextlib.AsyncExitStack, env: dict[str, str], workdir: Path
) -> dict[str, fleet.Replica]:
    tasks = [fleet.Replica(f"tasks-{i}", "tasks", env, workdir) for i in (1, 2)]
    # gRPC's ipv4 resolver with several addresses: round_robin over both replicas.
    target = "ipv4:" + ",".join(t.address for t in tasks)
    chats = [
        fleet.Replica(f"chat-{i}", "chat", {**env, "TASKS_TARGET": target}, workdir) for i in (1, 2)
    ]
    replicas = {r.name: r for r in (*tasks, *chats)}

    async def stop_all() -> None:
        await asyncio.gather(*(r.stop() for r in replicas.values()))

    stack.push_async_callback(stop_all)
    await asyncio.gather(*(t.start() for t in tasks))
    await asyncio.gather(*(c.start() for c in chats))
    return replicas


async def run_drill(config: DrillConfig) -> DrillResult:
    schedule = config.schedule()
    needs_restart = any(spec.kind == "pg-restart" for spec in schedule)
    if needs_restart and config.database_url is not None:
        raise ValueError("the PostgreSQL restart needs the drill's own cluster: no database_url")
    workdir = Path(tempfile.mkdtemp(prefix="todochat-drill-"))
    jwt = JwtSettings(algorithms=("HS256",), secret=secrets.token_urlsafe(48))
    result = DrillResult("", False, workdir)
    say = config.progress
    began = time.monotonic()
    try:
        async with contextlib.AsyncExitStack() as stack:
            database = await stack.enter_async_context(_database(config))
            env = fleet.service_env(
                database.url, jwt.secret or "", workdir / "var", config.log_level
            )
            await fleet.migrate(env)
            say(f"database ready and migrated after {time.monotonic() - began:.1f} s")
            replicas = await _start_fleet(stack, env, workdir)
            say(f"4 replicas SERVING after {time.monotonic() - began:.1f} s")
            envoy = await stack.enter_async_context(
                start_envoy(
                    render_local(
                        (replicas["tasks-1"].port, replicas["tasks-2"].port),
                        (replicas["chat-1"].port, replicas["chat-2"].port),
                        0,
                        0,
                    )
                )
            )
            say(f"envoy ready after {time.monotonic() - began:.1f} s; load starts")
            try:
                result = await _exercise(config, schedule, database, replicas, envoy.base_url, jwt)
            finally:
                shutil.copy(envoy.log_path, workdir / "envoy.log")
            result.workdir = workdir
            say("stopping everything")
    except BaseException:
        say(f"stopped early; the logs are in {workdir}")
        raise
    if result.passed and not config.keep_workdir:
        shutil.rmtree(workdir, ignore_errors=True)
        result.workdir = None
    return result


async def _warm_up(base_url: str, jwt: JwtSettings, run_id: str) -> str:
    """A few turns of a user the check ignores, before the clock starts: each replica's
    first turns pay for its connections, caches and lazy imports (seconds on a busy
    machine), which would otherwise show as the run's longest stretch without a success.
    A replica restarted by a fault starts cold again, and that is measured."""
    clock = Clock()
    plan = LoadPlan(base_url, 60.0, 30.0, 0.0, 10.0)
    user_id = f"drill-{run_id}-warm-up"
    client = Client(-1, user_id, issue_token(jwt, user_id, ttl_seconds=600), plan, clock)
    await client.run(turns=_WARM_UP_TURNS)
    answered = [t.answered_at for t in client.turns if t.answered_at is not None]
    if len(answered) < _WARM_UP_TURNS:
        raise RuntimeError(f"warm-up turns unanswered: {[t.attempts for t in client.turns]}")
    return f"{len(answered)} turns, the first answered after {answered[0]:.2f} s"


async def _exercise(
    config: DrillConfig,
    schedule: list[FaultSpec],
    database: _Database,
    replicas: dict[str, fleet.Replica],
    base_url: str,
    jwt: JwtSettings,
) -> DrillResult:
    """The load and the faults at once, then the check of what was stored."""
    run_id = uuid.uuid4().hex[:8]
    warm_up = await _warm_up(base_url, jwt, run_id)
    config.progress(f"warm-up: {warm_up}")
    load_before = os.getloadavg()[0]
    clock = Clock()
    plan = LoadPlan(
        base_url=base_url,
        stop_sending_at=config.duration_seconds,
        settle_seconds=config.settle_seconds,
        pause_seconds=config.pause_seconds,
        attempt_timeout_seconds=config.attempt_timeout_seconds,
    )
    clients = []
    for index in range(config.clients):
        user_id = Client.user_id_for(run_id, index)
        token = issue_token(jwt, user_id, ttl_seconds=3600)
        clients.append(Client(index, user_id, token, plan, clock))
    faults = [Fault(spec) for spec in schedule]
    restart = database.cluster.restart if database.cluster is not None else None

    def injected(at: float) -> None:
        plan.stop_sending_at = max(plan.stop_sending_at, at + _LOAD_AFTER_FAULT)

    outcomes = await asyncio.gather(
        run_faults(faults, replicas, restart, clock, config.progress, injected),
        *(c.run() for c in clients),
        return_exceptions=True,
    )
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    turns = [t for c in clients for t in c.turns]
    config.progress(f"t={clock.now():.1f} s: {len(turns)} turns sent; checking the tables")
    findings = await verify(database.url, turns)
    header = (
        f"todochat fault drill: 2 ChatService + 2 TaskService replicas (offline TodoBot) "
        f"behind Envoy, over {database.description}\n"
        f"{config.clients} clients, {plan.stop_sending_at:.0f} s of load "
        f"(then up to {config.settle_seconds:g} s for unanswered turns), "
        f"{'short' if config.short else 'full'} fault schedule\n"
        f"{os.cpu_count()} CPUs; load average {load_before:.1f} before the load, "
        f"{os.getloadavg()[0]:.1f} after it (other processes slow restarts down)\n"
        f"warm-up before the clock starts (not counted): {warm_up}"
    )
    report, passed = render(header, turns, faults, findings, plan.stop_sending_at)
    if errors:
        report += "\n" + "\n".join(f"ERROR in the drill itself: {e!r}" for e in errors)
        passed = False
    return DrillResult(report, passed, None, turns, faults, findings)
