"""Chat-turn benchmark: `python -m bench.chat_turns` (see bench/README.md).

A throwaway PostgreSQL (pg_stat_statements preloaded), TaskService and ChatService each
`todochat serve`d as its own process on its own database, ChatService talking through the
real openai SDK to a fake OpenAI server (its own process) that answers every call after
`--latency` seconds: first a tool call `add_task`, then, after the function result, a
text answer. N users, each with its own token and conversation, send `Chat` turns in a
closed loop; after a warm-up, a measured window gives latency percentiles, turns/s,
errors, CPU per turn of each process (from /proc) and SQL statements per turn.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench import _chat_report
from bench._chat_load import Plan, User, run_load
from bench._chat_report import CpuSample, Window
from bench._cpu import machine_busy, process_cpu, tree_cpu
from bench._fake_llm import FakeLlmProcess
from bench._pg import DURABILITY_OFF, open_database, plain_dsn
from bench._pgstats import PRELOAD_SETTINGS, Snapshot, StatementCounter, difference
from bench._service import ServiceProcess
from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings

# Far above what a user sends in a run, so no turn is refused; the per-turn counter
# upsert still runs, as it does in production.
RATE_LIMIT_PER_MINUTE = 10000
IDLE_SECONDS = 2.0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.chat_turns",
        description="Chat turns through ChatService, TaskService and a fake model of fixed latency.",
    )
    parser.add_argument("--users", type=int, default=100, help="concurrent users (default 100)")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model call")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument(
        "--duration", type=float, default=8.0, help="measured seconds (8 s: ~4 turns per user)"
    )
    parser.add_argument(
        "--chat-replicas",
        type=int,
        default=1,
        help="ChatService processes; a user's turns rotate over them (default 1)",
    )
    parser.add_argument("--show-sql", action="store_true", help="print each statement per turn")
    parser.add_argument(
        "--require-target", action="store_true", help="exit 3 when the target is not met"
    )
    return parser


def _sample(
    chats: list[ServiceProcess], tasks: ServiceProcess, fake: FakeLlmProcess, pg: int | None
) -> CpuSample:
    return CpuSample(
        chat=sum(process_cpu(chat.pid) for chat in chats),
        tasks=process_cpu(tasks.pid),
        fake_llm=process_cpu(fake.pid),
        client=time.process_time(),
        postgres=tree_cpu(pg) if pg else None,
        machine=machine_busy(),
    )


async def _server_version(url: str) -> str:
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def _bench(args: argparse.Namespace, workdir: Path) -> int:
    begun = time.monotonic()
    db = await open_database(os.environ.get("BENCH_DATABASE_URL"), PRELOAD_SETTINGS)
    fake = FakeLlmProcess(args.latency)
    secret = secrets.token_urlsafe(48)
    started: list[ServiceProcess] = []
    counter: StatementCounter | None = None
    try:
        tasks_url, chat_url = await db.sibling("tasks"), await db.sibling("chat")
        await fake.start()
        tasks = ServiceProcess(tasks_url, secret, workdir, service="tasks")
        chat_env = {
            "TASKS_TARGET": tasks.target,
            "LLM_PROVIDER": "openai",
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "bench-fake-key",
            "OPENAI_MODEL": "gpt-bench",
            "CHAT_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT_PER_MINUTE),
        }
        chats = []
        for k in range(args.chat_replicas):
            replica_dir = workdir / f"chat-{k}"
            replica_dir.mkdir()
            chats.append(
                ServiceProcess(chat_url, secret, replica_dir, service="chat", extra_env=chat_env)
            )
        for service in (tasks, *chats):
            if service is tasks or service is chats[0]:
                await service.migrate()
            await service.start()
            started.append(service)
        counter = StatementCounter(
            db.url,
            {
                "chat": make_url(chat_url).database or "",
                "tasks": make_url(tasks_url).database or "",
            },
        )
        await counter.open()
        version = await _server_version(db.url)
        print(
            f"pids: ChatService {' '.join(str(c.pid) for c in chats)}, TaskService {tasks.pid}, "
            f"fake LLM {fake.pid} (py-spy record -p PID ...); 2 s idle, then {args.users} users",
            file=sys.stderr,
            flush=True,
        )
        # What the services burn with no traffic (health checks, metrics, gRPC's
        # threads) is part of every per-turn figure below; this shows how much.
        idle_start = _sample(chats, tasks, fake, db.postmaster_pid)
        await asyncio.sleep(IDLE_SECONDS)
        idle_end = _sample(chats, tasks, fake, db.postmaster_pid)
        # Nothing runs between here and the end of the drain but the load, so the SQL of
        # the whole run divided by its turns is exact (warm-up turns included).
        sql_before = await counter.snapshot()
        jwt = JwtSettings(algorithms=("HS256",), secret=secret)
        users = [
            User(f"bench-user-{i:03d}", issue_token(jwt, f"bench-user-{i:03d}", 3600))
            for i in range(args.users)
        ]
        floor = 2 * args.latency
        plan = Plan(
            begin=time.perf_counter(), spread=floor, warmup=args.warmup, duration=args.duration
        )
        cpu: list[CpuSample] = []
        sql: list[Snapshot] = []
        model: list[dict[str, int]] = []

        async def snapshot() -> None:
            cpu.append(_sample(chats, tasks, fake, db.postmaster_pid))
            assert counter is not None
            sql.append(await counter.snapshot())
            model.append(await fake.stats())

        result = await run_load(
            [chat.target for chat in chats],
            users,
            plan,
            timeout=max(30.0, 10 * floor),
            at_window_start=snapshot,
            at_window_end=snapshot,
        )
        stats = await fake.stats()
        sql_after = await counter.snapshot()
        for service in started:
            if service.log_tail().strip():
                print(f"{service.name} log (last lines):\n{service.log_tail(10)}", file=sys.stderr)
    finally:
        if counter is not None:
            await counter.close()
        for service in reversed(started):
            await service.stop()
        await fake.stop()
        await db.close()

    where = (
        f"throwaway cluster ({', '.join(DURABILITY_OFF)})"
        if db.postmaster_pid
        else "BENCH_DATABASE_URL (its CPU not measured)"
    )
    header = [
        f"Chat-turn benchmark: {args.users} users, fake model latency {args.latency:g} s per call, "
        f"2 calls per turn (add_task, then the answer) -> floor {floor:.1f} s",
        f"ChatService x{args.chat_replicas} (openai SDK -> fake OpenAI server) and TaskService as "
        f"separate processes, each service on its own database; PostgreSQL {version}, {where}",
        f"{os.cpu_count()} CPUs; users start spread over {floor:g} s; warm-up "
        f"{plan.window_start - plan.begin:.1f} s (>= {args.warmup:g} s and every user's first turn), "
        f"measured {args.duration:g} s; fake model: {stats['requests']} calls, "
        f"{stats['bad_requests']} bad requests",
    ]
    idle = {
        "chat": 100 * (idle_end.chat - idle_start.chat) / IDLE_SECONDS,
        "tasks": 100 * (idle_end.tasks - idle_start.tasks) / IDLE_SECONDS,
    }
    header.append(
        f"idle for {IDLE_SECONDS:g} s before the load: chat {idle['chat']:.1f} %, "
        f"tasks {idle['tasks']:.1f} % of a core"
    )
    window = Window(
        plan=plan,
        result=result,
        cpu=(cpu[0], cpu[1]),
        sql=None if counter.unavailable else difference(sql[0], sql[1]),
        run_sql=None if counter.unavailable else difference(sql_before, sql_after),
        model_calls=model[1]["requests"] - model[0]["requests"],
        max_waiting=stats["max_in_flight"],
    )
    report, met = _chat_report.render(window, header, args.latency)
    print()
    print(report)
    if args.show_sql:
        print()
        print(_chat_report.statements(window))
    print(f"(total run time {time.monotonic() - begun:.0f} s)")
    if any(t.error for t in result.turns):
        return 1
    return 3 if args.require_target and not met else 0


def main() -> int:
    args = _parser().parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="todochat-bench-chat-"))
    try:
        return asyncio.run(_bench(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
