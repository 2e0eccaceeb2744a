"""Start-up and memory benchmark: `python -m bench.startup` (see bench/README.md).

Times `todochat up` from exec to the last line of its banner (every service SERVING),
on an empty var dir with the page cache dropped (cold), on an empty var dir with warm
caches (first), and restarted on the same var dir (warm); then drives chat turns
through the gateway's `POST /api/chat` (offline agent) and reads each process's
resident memory from /proc. Prints a table and both targets, MET or NOT MET.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from bench import _startup_report as report
from bench._cpu import machine_busy, process_cpu
from bench._rest_turns import run_turns
from bench._up import Running, Start, load_average, start_up, up_environment
from services.servicekit.auth import issue_token
from services.servicekit.config import Settings

ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 120.0
DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.startup",
        description="Time from `todochat up` to all services SERVING; memory after chat turns.",
    )
    parser.add_argument("--cold", type=int, default=3, help="cold starts (page cache dropped)")
    parser.add_argument("--first", type=int, default=2, help="first starts with warm caches")
    parser.add_argument(
        "--warm", type=int, default=5, help="restarts on the same var dir (at least 1)"
    )
    parser.add_argument("--turns", type=int, default=1000, help="chat turns before reading RSS")
    parser.add_argument("--users", type=int, default=4, help="users sending those turns at once")
    parser.add_argument(
        "--no-drop-caches", action="store_true", help="never drop the page cache (cold = first)"
    )
    parser.add_argument(
        "--budget", type=float, default=900.0, help="seconds before the run gives up (900)"
    )
    parser.add_argument(
        "--require-target", action="store_true", help="exit 3 when a target is not met"
    )
    return parser


def _cached_mb() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("Cached:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def drop_page_cache() -> tuple[bool, str]:
    """`sync; echo 3 > /proc/sys/vm/drop_caches`: (done, what happened, for the report)."""
    if os.geteuid() != 0:
        return False, "not root: cannot write /proc/sys/vm/drop_caches"
    before = _cached_mb()
    os.sync()
    try:
        DROP_CACHES.write_text("3\n")
    except OSError as exc:
        return False, f"writing {DROP_CACHES} failed: {exc.strerror}"
    return True, f"page cache {before:.0f} -> {_cached_mb():.0f} MB"


async def _timed(var_dir: Path, log: Path) -> Running:
    return await start_up(var_dir, log, START_TIMEOUT)


async def _once(var_dir: Path, log: Path) -> Start:
    running = await _timed(var_dir, log)
    status = await running.stop()
    if status != 0:
        raise RuntimeError(f"todochat up exited with status {status} on SIGTERM")
    return running.start


def _tokens(var_dir: Path, users: int) -> list[str]:
    # The dev secret `up` created in the var dir signs them, as `todochat token` would.
    settings = Settings.from_env(up_environment(var_dir))
    return [issue_token(settings.jwt, f"bench-user-{i}", 3600) for i in range(users)]


async def _run(args: argparse.Namespace, workdir: Path, result: report.Result) -> None:
    log = workdir / "up.log"
    for i in range(args.cold):
        if not args.no_drop_caches:
            dropped, note = drop_page_cache()
            result.cache_notes.append(note)
            if not dropped:
                result.cold_is_first = True
        result.starts.append(("cold", await _once(workdir / f"cold-{i}", log)))
    var_dir = workdir / "cold-0"
    for i in range(args.first):
        var_dir = workdir / f"first-{i}"
        result.starts.append(("first", await _once(var_dir, log)))
    if not args.cold and not args.first:
        await _once(var_dir, log)  # unmeasured: a warm start needs a started var dir
    for _ in range(max(args.warm - 1, 0)):
        result.starts.append(("warm", await _once(var_dir, log)))
    # The last warm start stays up for the turns.
    running = await _timed(var_dir, log)
    result.starts.append(("warm", running.start))
    try:
        result.memory_started = running.memory()
        if args.turns > 0:
            tokens = _tokens(var_dir, args.users)
            pids = running.start.pids
            cpu_before = {name: process_cpu(pid) for name, pid in pids.items()}
            busy_before = machine_busy()
            result.turns_load = load_average()
            result.turns = await run_turns(running.gateway, tokens, args.turns, args.budget)
            busy_after = machine_busy()
            result.turns_cpu = {
                name: process_cpu(pid) - cpu_before[name] for name, pid in pids.items()
            }
            total = busy_after[1] - busy_before[1]
            busy = (os.cpu_count() or 1) * (busy_after[0] - busy_before[0]) / total if total else 0
            result.turns_other = max(
                0.0, busy - sum(result.turns_cpu.values()) / max(result.turns.seconds, 1e-9)
            )
        result.memory_after = running.memory()
        result.pids = dict(running.start.pids)
    finally:
        status = await running.stop()
        if status != 0:
            raise RuntimeError(f"todochat up exited with status {status} on SIGTERM")


def _compiled(sources: list[Path]) -> int:
    """How many of `sources` have bytecode at least as new as the source."""
    count = 0
    for path in sources:
        cached = Path(importlib.util.cache_from_source(str(path)))
        if cached.exists() and cached.stat().st_mtime >= path.stat().st_mtime:
            count += 1
    return count


def _bytecode() -> str:
    """How many modules have bytecode: without it every process compiles each module it
    imports, on every start (PYTHONDONTWRITEBYTECODE keeps it that way; scripts/bootstrap
    compiles them)."""
    site = list(Path(sysconfig.get_paths()["purelib"]).rglob("*.py"))
    ours = [p for top in ("services", "gen/python") for p in (ROOT / top).rglob("*.py")]
    flag = os.environ.get("PYTHONDONTWRITEBYTECODE", "")
    return (
        f"bytecode for {_compiled(site)} of {len(site)} modules in the venv, "
        f"{_compiled(ours)} of {len(ours)} in services/ and gen/python/; "
        f"PYTHONDONTWRITEBYTECODE={flag or '(unset)'}"
    )


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "services"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = ", ".join(line.split()[-1] for line in dirty.splitlines())
    return out.stdout.strip() + (f" plus uncommitted changes to {changed}" if dirty else "")


async def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="todochat-startup-"))
    result = report.Result(
        commit=_commit(),
        load_at_start=Path("/proc/loadavg").read_text().split()[:3],
        bytecode=_bytecode(),
    )
    began = time.monotonic()
    failed = False
    try:
        async with asyncio.timeout(args.budget):
            await _run(args, workdir, result)
    except (RuntimeError, TimeoutError) as exc:
        failed = True
        print(f"bench.startup: {exc or 'over budget'}; logs in {workdir}", file=sys.stderr)
        print(report.tail(workdir / "up.log"), file=sys.stderr)
    result.total_seconds = time.monotonic() - began
    print(report.render(result, args))
    if failed:
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    if result.turns is not None and (result.turns.failed or result.turns.unexpected):
        return 1
    if args.require_target and not report.targets_met(result):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
