"""TaskService load benchmark: `python -m bench.tasks_load` (see bench/README.md).

Starts a throwaway PostgreSQL (or uses $BENCH_DATABASE_URL), migrates, runs
`todochat serve tasks` as its own process, seeds one user with 50 tasks over gRPC,
then for GetTask, ListTasks (50 tasks) and AddTask at each concurrency runs one cell
against the service and one raw asyncpg cell running the same SQL, each in a fresh
client process, and prints both side by side with the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from todochat.tasks.v1 import resources_pb2, tasks_service_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb

from bench import _report, _sql, _workload
from bench._pg import DURABILITY_OFF, BenchDatabase, open_database, plain_dsn
from bench._service import ServiceProcess
from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings

REPO = Path(__file__).resolve().parent.parent
# services/servicekit/database.create_engine: pool_size 10 plus max_overflow 10.
SERVICE_POOL_MAX = 20


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tasks_load",
        description="TaskService over gRPC vs a raw asyncpg loop running the same SQL.",
    )
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="discarded seconds per cell")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated, e.g. 1,16,64")
    parser.add_argument(
        "--ops", default=",".join(_workload.OPERATIONS), help="subset of GetTask,ListTasks,AddTask"
    )
    parser.add_argument(
        "--channels", type=int, default=1, help="gRPC channels the service client spreads over"
    )
    parser.add_argument(
        "--pool-size", type=int, default=SERVICE_POOL_MAX, help="raw asyncpg pool max size"
    )
    parser.add_argument(
        "--profile-server",
        type=Path,
        metavar="FILE",
        help="run TaskService under cProfile and write its stats to FILE (slows it down)",
    )
    parser.add_argument("--show-sql", action="store_true", help="print the captured SQL")
    parser.add_argument(
        "--require-target", action="store_true", help="exit 3 when the target is not met"
    )
    return parser


def _split(text: str, allowed: tuple[str, ...] | None = None) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if allowed is not None and (bad := [i for i in items if i not in allowed]):
        raise SystemExit(f"unknown operation(s) {bad}; choose from {list(allowed)}")
    return items


def _token(secret: str, subject: str) -> str:
    return issue_token(JwtSettings(algorithms=("HS256",), secret=secret), subject, 3 * 3600)


async def _seed(target: str, token: str) -> str:
    """Adds the reader's tasks over gRPC; returns the id GetTask will fetch."""
    metadata = (("authorization", f"Bearer {token}"),)
    ids = []
    async with grpc.aio.insecure_channel(target) as channel:
        stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
        for i in range(_workload.SEED_TASKS):
            request = pb.AddTaskRequest(
                title=f"seeded task {i}",
                description=f"task {i} of the benchmark user",
                priority=resources_pb2.Priority.ValueType(i % 4),
                tags=["bench", f"group-{i % 5}"],
            )
            ids.append((await stub.AddTask(request, metadata=metadata)).task.id)
    return ids[len(ids) // 2]


async def _describe_server(db: BenchDatabase) -> str:
    connection = await asyncpg.connect(plain_dsn(db.url))
    try:
        await connection.execute("ANALYZE")
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    if db.postmaster_pid is None:
        return f"PostgreSQL {version} from BENCH_DATABASE_URL (its settings; its CPU not measured)"
    return f"PostgreSQL {version}, throwaway cluster ({', '.join(DURABILITY_OFF)})"


async def _run_worker(
    config_path: Path, side: str, op: str, n: int, timeout: float
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench._worker",
        str(config_path),
        side,
        op,
        str(n),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise SystemExit(f"{side} {op} @{n}: worker did not finish within {timeout:.0f}s") from None
    if process.returncode != 0:
        raise SystemExit(
            f"{side} {op} @{n}: worker failed:\n{err.decode(errors='replace')[-3000:]}"
        )
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


async def _bench(args: argparse.Namespace, workdir: Path) -> int:
    ops = _split(args.ops, _workload.OPERATIONS)
    concurrencies = [int(n) for n in _split(args.concurrency)]
    started = time.monotonic()
    db = await open_database(os.environ.get("BENCH_DATABASE_URL"))
    jwt_secret = secrets.token_urlsafe(48)
    service = ServiceProcess(db.url, jwt_secret, workdir, args.profile_server)
    try:
        await service.migrate()
        await service.start()
        reader_token, writer_token = (
            _token(jwt_secret, _workload.READER),
            _token(jwt_secret, _workload.WRITER),
        )
        task_id = await _seed(service.target, reader_token)
        print(
            f"TaskService pid {service.pid} on {service.target}, seeded; running cells",
            file=sys.stderr,
            flush=True,
        )
        server = await _describe_server(db)
        if args.show_sql:
            for op, statement in (await _sql.capture(db.url, task_id)).items():
                print(f"-- {op}\n{statement.sql};\n")
        config_path = workdir / "bench.json"
        config_path.write_text(
            json.dumps(
                {
                    "target": service.target,
                    "db_url": db.url,
                    "task_id": task_id,
                    "reader_token": reader_token,
                    "writer_token": writer_token,
                    "server_pid": service.pid,
                    "postmaster_pid": db.postmaster_pid,
                    "pool_size": args.pool_size,
                    "channels": args.channels,
                    "warmup": args.warmup,
                    "duration": args.duration,
                }
            )
        )
        results: _report.Results = {}
        timeout = args.warmup + args.duration + 60
        for op in ops:
            for n in concurrencies:
                # Interleaved, so both sides see the same table size and server state.
                for side in ("service", "raw"):
                    cell = await _run_worker(config_path, side, op, n, timeout)
                    results[(op, n, side)] = cell
                    print(
                        f"  {op:<9} @{n:<3} {side:<7} {cell['rps']:>8.0f} req/s  "
                        f"p50 {cell['p50_ms']:.2f} ms  p99 {cell['p99_ms']:.2f} ms  "
                        f"errors {cell['errors']}",
                        file=sys.stderr,
                        flush=True,
                    )
        if service.log_tail().strip():
            print(f"TaskService log (last lines):\n{service.log_tail()}", file=sys.stderr)
    finally:
        await service.stop()
        await db.close()
    print()
    print(f"TaskService load benchmark: {server}")
    print(
        f"{os.cpu_count()} CPUs; warm-up {args.warmup:g} s + {args.duration:g} s measured per cell; "
        f"service DB pool max {SERVICE_POOL_MAX}, raw asyncpg pool max {args.pool_size}; "
        f"{args.channels} gRPC channel(s); each cell in a fresh client process"
    )
    print()
    print(_report.table(results, ops, concurrencies))
    print()
    print(_report.cpu_table(results, ops, concurrencies))
    print()
    note = _report.interference(results)
    if note:
        print(note)
    line, met = _report.target(results)
    print(line)
    problems = _report.errors(results)
    for problem in problems:
        print(f"ERROR {problem}")
    print(f"(total run time {time.monotonic() - started:.0f} s)")
    if problems:
        return 1
    return 3 if args.require_target and met is False else 0


def main() -> int:
    args = _parser().parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="todochat-bench-"))
    try:
        return asyncio.run(_bench(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
