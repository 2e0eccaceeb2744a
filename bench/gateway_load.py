"""GetTask three ways: `python -m bench.gateway_load` (see bench/README.md).

Starts a throwaway PostgreSQL (or uses $BENCH_DATABASE_URL), migrates, runs `todochat
serve tasks` and `todochat serve gateway` as their own processes and a live Envoy
(grpc_json_transcoder, tests/envoy_harness.py with `render_local`'s config) in front
of the same TaskService, seeds one task, checks each face answers it, then at each
concurrency runs one h2load cell per face: direct gRPC, REST through the gateway,
REST through Envoy. Prints throughput and latency side by side, the gateway's added
p50 and its share of Envoy's throughput, CPU per process, and the two targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from bench import _gateway_report as report
from bench._gateway import GatewayProcess
from bench._h2load import Face, Processes, grpc_frame, h2load_binary, run_cell
from bench._pg import DURABILITY_OFF, BenchDatabase, free_port, open_database, plain_dsn
from bench._service import ServiceProcess
from services.gateway.envoy import render_local
from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings
from tests.envoy_harness import start_envoy

READER = "bench-reader"
GET_TASK = "/todochat.tasks.v1.TaskService/GetTask"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.gateway_load",
        description="GetTask over direct gRPC, REST through the gateway, REST through Envoy.",
    )
    parser.add_argument("--duration", type=float, default=4.0, help="measured seconds per cell")
    parser.add_argument("--warmup", type=float, default=1.0, help="discarded seconds per cell")
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated, e.g. 16,64")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every cell this many times (interleaved) and keep the median-throughput one",
    )
    parser.add_argument(
        "--require-target", action="store_true", help="exit 3 when a target is not met"
    )
    return parser


async def _seed(target: str, token: str) -> tuple[str, int]:
    """One task for the reader; returns its id and the size of a GetTask answer."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(target) as channel:
        stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
        added = await stub.AddTask(
            pb.AddTaskRequest(
                title="benchmark task",
                description="read by bench.gateway_load",
                tags=["bench", "load"],
            ),
            metadata=metadata,
        )
        got = await stub.GetTask(pb.GetTaskRequest(task_id=added.task.id), metadata=metadata)
    return added.task.id, len(grpc_frame(got.SerializeToString()))


def _rest_answer_bytes(url: str, token: str, task_id: str) -> int:
    """GETs the task once through a REST face; the answer must be that task."""
    # 127.0.0.1 URLs this module built: no scheme from outside.
    request = urllib.request.Request(url, headers={"authorization": f"Bearer {token}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body = response.read()
    if json.loads(body).get("id") != task_id:
        raise SystemExit(f"{url} answered another task: {body[:200]!r}")
    return len(body)


async def _faces(
    tasks: ServiceProcess, gateway: GatewayProcess, envoy_url: str, envoy_pid: int, token: str
) -> list[Face]:
    task_id, grpc_bytes = await _seed(tasks.target, token)
    auth = f"authorization: Bearer {token}"
    path = f"/api/{READER}/tasks/{task_id}"
    faces = [
        Face(
            report.GRPC,
            f"http://{tasks.target}{GET_TASK}",
            http1=False,
            headers=(auth, "content-type: application/grpc", "te: trailers"),
            body=grpc_frame(pb.GetTaskRequest(task_id=task_id).SerializeToString()),
            answer_bytes=grpc_bytes,
            proxy_pid=None,
        )
    ]
    for name, base, pid in (
        (report.GATEWAY, gateway.base_url, gateway.pid),
        (report.ENVOY, envoy_url, envoy_pid),
    ):
        size = await asyncio.to_thread(_rest_answer_bytes, base + path, token, task_id)
        faces.append(Face(name, base + path, True, (auth,), None, size, pid))
    return faces


async def _describe(db: BenchDatabase, h2load: str) -> str:
    connection = await asyncpg.connect(plain_dsn(db.url))
    try:
        version = await connection.fetchval("SHOW server_version")
    finally:
        await connection.close()
    client = subprocess.run([h2load, "--version"], capture_output=True, text=True, check=False)
    where = (
        f"throwaway cluster ({', '.join(DURABILITY_OFF)})"
        if db.postmaster_pid
        else "BENCH_DATABASE_URL (its CPU not measured)"
    )
    return f"PostgreSQL {version}, {where}; client {client.stdout.strip()}"


def _median(cells: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median throughput (its own latencies and CPU, not mixed);
    errors of every round count."""
    chosen = dict(sorted(cells, key=lambda cell: float(cell["rps"]))[len(cells) // 2])
    chosen["errors"] = sum(int(cell["errors"]) for cell in cells)
    chosen["first_error"] = next((c["first_error"] for c in cells if c["first_error"]), None)
    return chosen


async def _bench(args: argparse.Namespace, workdir: Path) -> int:
    concurrencies = [int(n) for n in args.concurrency.split(",") if n.strip()]
    started = time.monotonic()
    h2load = h2load_binary()
    db = await open_database(os.environ.get("BENCH_DATABASE_URL"))
    secret = secrets.token_urlsafe(48)
    token = issue_token(JwtSettings(algorithms=("HS256",), secret=secret), READER, 3 * 3600)
    tasks = ServiceProcess(db.url, secret, workdir)
    gateway = GatewayProcess(tasks.target, secret, workdir)
    rounds: dict[tuple[str, int], list[dict[str, Any]]] = {}
    try:
        await tasks.migrate()
        await tasks.start()
        await gateway.start()
        described = await _describe(db, h2load)
        # ChatService is not benchmarked: Envoy's chat cluster points at a closed port.
        config = render_local(tasks.port, free_port(), 0, 0)
        async with start_envoy(config) as envoy:
            faces = await _faces(tasks, gateway, envoy.base_url, envoy.process.pid, token)
            print(
                f"TaskService pid {tasks.pid}, gateway pid {gateway.pid}, "
                f"Envoy pid {envoy.process.pid}; running cells",
                file=sys.stderr,
                flush=True,
            )
            processes = Processes(tasks.pid, db.postmaster_pid)
            for _ in range(args.rounds):
                for n in concurrencies:
                    # Faces interleaved per concurrency, so all see the same machine state.
                    for face in faces:
                        cell = await run_cell(
                            h2load, face, n, args.warmup, args.duration, processes, workdir
                        )
                        rounds.setdefault((face.name, n), []).append(cell)
                        print(
                            f"  {face.name:<16} @{n:<3} {cell['rps']:>7.0f} req/s  "
                            f"p50 {cell['p50_ms']:.2f} ms  p99 {cell['p99_ms']:.2f} ms  "
                            f"errors {cell['errors']}",
                            file=sys.stderr,
                            flush=True,
                        )
    finally:
        await gateway.stop()
        await tasks.stop()
        await db.close()
    results = {key: _median(cells) for key, cells in rounds.items()}
    print()
    print(f"GetTask three ways: {described}")
    print(
        f"{os.cpu_count()} CPUs; warm-up {args.warmup:g} s + {args.duration:g} s measured per "
        "cell, closed loop; gRPC: 1 HTTP/2 connection x N streams; REST: N HTTP/1.1 "
        "keep-alive connections; Envoy --concurrency 2; each service its own process"
        + (f"; median-throughput cell of {args.rounds} rounds" if args.rounds > 1 else "")
    )
    print()
    print(report.table(results, concurrencies))
    print()
    print(report.cpu_table(results, concurrencies))
    print()
    note = report.interference(results)
    if note:
        print(note)
    lines, met = report.targets(results)
    for line in lines:
        print(line)
    problems = report.errors(results)
    for problem in problems:
        print(f"ERROR {problem}")
    print(f"(total run time {time.monotonic() - started:.0f} s)")
    if problems:
        return 1
    return 3 if args.require_target and met is False else 0


def main() -> int:
    args = _parser().parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="todochat-gwbench-"))
    try:
        return asyncio.run(_bench(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
