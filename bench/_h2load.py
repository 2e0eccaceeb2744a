"""h2load (Debian's nghttp2-client) as the one load generator for every face.

One C client for all three ways keeps the comparison even (same connection handling,
same clock, same latency definition) and costs little CPU per request, so it is not
what limits a face on a 2-core machine. Each cell is one h2load run, a closed loop:
`--warm-up-time` seconds thrown away, then `-D` seconds measured; `--log-file` gives
every measured request's status and time to the end of its response, from which p50
and p99 are taken.

- direct gRPC: HTTP/2, one connection carrying N concurrent streams (`-c 1 -m N`),
  as one grpc channel does (and as the gateway's own channel to TaskService does); the
  body is the serialized GetTaskRequest in gRPC's length-prefixed frame.
- REST (gateway, Envoy): HTTP/1.1 (`--h1`), N keep-alive connections each with one
  request at a time (`-c N -m 1`), as N browsers do.

h2load counts HTTP statuses only, and a failed gRPC call is still HTTP 200 (its status
is in the trailers). Every answer of a face has the same size, so the response bytes
received must add up to one correct answer per completed request: a shortfall larger
than the requests in flight at the warm-up boundary means failed calls.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._cpu import machine_busy, process_cpu, tree_cpu

PACKAGE = "nghttp2-client"
_REQUESTS = re.compile(
    r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, "
    r"(\d+) failed, (\d+) errored, (\d+) timeout"
)
_STATUSES = re.compile(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx")
_DATA = re.compile(r"\((\d+)\) data")
_WARM = "Warm-up phase is over"
_DONE = "Main benchmark duration is over"


def h2load_binary() -> str:
    """h2load on PATH; as root with apt-get, installs Debian's package first."""
    found = shutil.which("h2load")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print(f"h2load not found: apt-get install {PACKAGE}", file=sys.stderr, flush=True)
        install = ["apt-get", "install", "-y", "--no-install-recommends", PACKAGE]
        if subprocess.run(install, capture_output=True, check=False).returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True, check=False)
            subprocess.run(install, capture_output=True, check=False)
        found = shutil.which("h2load")
        if found:
            return found
    raise SystemExit(f"h2load not found: install Debian's {PACKAGE} (apt-get install {PACKAGE})")


def grpc_frame(message: bytes) -> bytes:
    """One uncompressed gRPC message: flag byte, big-endian length, the bytes."""
    return b"\0" + struct.pack(">I", len(message)) + message


@dataclass(frozen=True)
class Face:
    """One way to make the call, and the size of one correct answer."""

    name: str
    url: str
    http1: bool
    headers: tuple[str, ...]
    body: bytes | None
    answer_bytes: int
    proxy_pid: int | None  # the gateway or Envoy; None for direct gRPC


@dataclass(frozen=True)
class Processes:
    tasks_pid: int
    postmaster_pid: int | None


def _command(
    binary: str, face: Face, n: int, warmup: float, duration: float, log: Path, body: Path
) -> list[str]:
    # h2load durations take a unit; milliseconds keep fractional seconds.
    cmd = [
        binary,
        "-D",
        f"{round(duration * 1000)}ms",
        "--warm-up-time",
        f"{round(warmup * 1000)}ms",
    ]
    cmd += ["-t", "1"]
    cmd += ["--log-file", str(log)]
    cmd += ["--h1", "-c", str(n), "-m", "1"] if face.http1 else ["-c", "1", "-m", str(n)]
    for header in face.headers:
        cmd += ["-H", header]
    if face.body is not None:
        body.write_bytes(face.body)
        cmd += ["-d", str(body)]
    return [*cmd, face.url]


def _snapshot(face: Face, processes: Processes) -> dict[str, Any]:
    return {
        "wall": asyncio.get_running_loop().time(),
        "proxy": process_cpu(face.proxy_pid) if face.proxy_pid else None,
        "tasks": process_cpu(processes.tasks_pid),
        "postgres": tree_cpu(processes.postmaster_pid) if processes.postmaster_pid else None,
        "machine": machine_busy(),
    }


def _usage(start: dict[str, Any], end: dict[str, Any]) -> dict[str, float | None]:
    """Percent of one core used by each process between the two snapshots."""
    wall = float(end["wall"] - start["wall"])

    def pct(key: str) -> float | None:
        if start[key] is None or end[key] is None:
            return None
        return round(100.0 * float(end[key] - start[key]) / wall, 1)

    postgres = None
    if start["postgres"] is not None and end["postgres"] is not None:
        used = sum(cpu - start["postgres"].get(pid, 0.0) for pid, cpu in end["postgres"].items())
        postgres = round(100.0 * used / wall, 1)
    busy = end["machine"][0] - start["machine"][0]
    total = end["machine"][1] - start["machine"][1]
    machine = round(100.0 * (os.cpu_count() or 1) * busy / total, 1) if total else None
    return {
        "proxy": pct("proxy"),
        "tasks": pct("tasks"),
        "postgres": postgres,
        "machine": machine,
    }


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def _summary(
    face: Face, n: int, duration: float, output: str, log: Path, cpu: dict[str, float | None]
) -> dict[str, Any]:
    requests, statuses, data = (
        _REQUESTS.search(output),
        _STATUSES.search(output),
        _DATA.findall(output),
    )
    if requests is None or statuses is None or not data:
        raise SystemExit(f"{face.name} @{n}: unreadable h2load output:\n{output[-2000:]}")
    done, failed, errored, timeouts = (int(requests.group(i)) for i in (3, 5, 6, 7))
    not_2xx = sum(int(statuses.group(i)) for i in (2, 3, 4))
    latencies = []
    for line in log.read_text().splitlines():
        _start, status, micros = line.split("\t")
        if status.startswith("2"):
            latencies.append(int(micros) / 1000.0)
    latencies.sort()
    # Answers in flight when the warm-up ended were partly received before the window.
    missing = done * face.answer_bytes - int(data[-1])
    short = max(0, math.ceil((missing - n * face.answer_bytes) / face.answer_bytes))
    errors = failed + errored + timeouts + not_2xx + short
    first_error = None
    if errors:
        first_error = (
            f"h2load: {failed} failed, {errored} errored, {timeouts} timeouts, "
            f"{not_2xx} non-2xx, {short} answers short of {face.answer_bytes} bytes"
        )
    return {
        "completed": len(latencies),
        "rps": len(latencies) / duration,
        "p50_ms": _percentile(latencies, 0.50),
        "p99_ms": _percentile(latencies, 0.99),
        "errors": errors,
        "first_error": first_error,
        "cpu": cpu,
    }


async def run_cell(
    binary: str,
    face: Face,
    concurrency: int,
    warmup: float,
    duration: float,
    processes: Processes,
    workdir: Path,
) -> dict[str, Any]:
    """One h2load run; the services' CPU is sampled when h2load says the measured phase
    starts and when it ends."""
    log, body = workdir / "h2load.log", workdir / "h2load.body"
    log.unlink(missing_ok=True)  # h2load appends
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = asyncio.get_running_loop().time()
    process = await asyncio.create_subprocess_exec(
        *_command(binary, face, concurrency, warmup, duration, log, body),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    snapshots = []
    lines = []
    async for raw in process.stdout:
        line = raw.decode(errors="replace")
        lines.append(line)
        if line.startswith((_WARM, _DONE)):
            snapshots.append(_snapshot(face, processes))
    await process.wait()
    output = "".join(lines)
    if process.returncode != 0 or len(snapshots) != 2:
        raise SystemExit(f"{face.name} @{concurrency}: h2load failed:\n{output[-2000:]}")
    cpu = _usage(*snapshots)
    # h2load has exited by the time its last line is read, so its own CPU comes from
    # the kernel's account of waited-for children: a rate over its whole run.
    spent = resource.getrusage(resource.RUSAGE_CHILDREN)
    client = spent.ru_utime + spent.ru_stime - (before.ru_utime + before.ru_stime)
    cpu["client"] = round(100.0 * client / (asyncio.get_running_loop().time() - began), 1)
    return _summary(face, concurrency, duration, output, log, cpu)
