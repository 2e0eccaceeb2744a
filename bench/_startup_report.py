"""The start-up benchmark's table: every start, the phases' median and max, memory, targets."""

from __future__ import annotations

import argparse
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench._rest_turns import TurnStats
from bench._up import Start

READY_TARGET_SECONDS = 3.0
MEMORY_TARGET_MB = 150.0
PROCESSES = ("launcher", "tasks", "chat", "gateway", "mcp")
_PHASES = {
    "cold": "empty var dir (migrations run, dev secret created), page cache dropped",
    "first": "empty var dir (migrations run, dev secret created), caches warm",
    "warm": "restart on the same var dir, caches warm",
}


@dataclass
class Result:
    commit: str
    load_at_start: list[str]
    bytecode: str
    starts: list[tuple[str, Start]] = field(default_factory=list)
    cache_notes: list[str] = field(default_factory=list)
    cold_is_first: bool = False
    memory_started: dict[str, tuple[int, int]] = field(default_factory=dict)
    memory_after: dict[str, tuple[int, int]] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    turns: TurnStats | None = None
    turns_cpu: dict[str, float] = field(default_factory=dict)
    turns_other: float = 0.0
    turns_load: float = 0.0
    total_seconds: float = 0.0


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _phase(result: Result, name: str) -> list[Start]:
    return [start for phase, start in result.starts if phase == name]


def _mb(kb: int) -> float:
    return kb / 1024


def _start_rows(result: Result) -> list[str]:
    head = "  ".join(f"{p:>8}" for p in PROCESSES)
    rows = [
        f"phase  run   wall s  (own s) | CPU s at banner: {head}     total | other  load1",
    ]
    seen: dict[str, int] = {}
    for phase, start in result.starts:
        cpu = "  ".join(f"{start.cpu.get(p, float('nan')):8.2f}" for p in PROCESSES)
        index = seen[phase] = seen.get(phase, 0) + 1
        rows.append(
            f"{phase:<6} {index:>3} {start.seconds:8.2f} {start.reported:8.1f} |"
            f"                  {cpu}  {sum(start.cpu.values()):8.2f} | {start.other_cores:5.2f}"
            f"  {start.load:5.2f}"
        )
    return rows


def _summary_rows(result: Result) -> list[str]:
    rows = ["phase  runs  median s   max s  median CPU s  median other  what"]
    for phase, what in _PHASES.items():
        starts = _phase(result, phase)
        if not starts:
            continue
        if phase == "cold" and result.cold_is_first:
            what = "empty var dir, page cache NOT dropped (see above)"
        walls = [s.seconds for s in starts]
        cpus = [sum(s.cpu.values()) for s in starts]
        others = [s.other_cores for s in starts]
        rows.append(
            f"{phase:<6} {len(starts):>4} {statistics.median(walls):9.2f} {max(walls):7.2f}"
            f" {statistics.median(cpus):13.2f} {statistics.median(others):13.2f}  {what}"
        )
    return rows


def _memory_rows(result: Result, turns: int) -> list[str]:
    rows = [
        f"process   pid    RSS after start  RSS after {turns} turns  peak (VmHWM)  CPU s in turns"
    ]
    for name in PROCESSES:
        if name not in result.memory_after:
            continue
        started = result.memory_started.get(name, (0, 0))[0]
        rss, peak = result.memory_after[name]
        rows.append(
            f"{name:<8} {result.pids.get(name, 0):>6} {_mb(started):13.1f} MB"
            f" {_mb(rss):18.1f} MB {_mb(peak):10.1f} MB {result.turns_cpu.get(name, 0.0):14.2f}"
        )
    return rows


def _warm_median(result: Result) -> float | None:
    warm = _phase(result, "warm")
    return statistics.median(s.seconds for s in warm) if warm else None


def _largest(result: Result) -> tuple[str, float] | None:
    if not result.memory_after:
        return None
    name = max(result.memory_after, key=lambda n: result.memory_after[n][0])
    return name, _mb(result.memory_after[name][0])


def targets_met(result: Result) -> bool:
    warm = _warm_median(result)
    largest = _largest(result)
    return (
        warm is not None
        and warm < READY_TARGET_SECONDS
        and largest is not None
        and largest[1] < MEMORY_TARGET_MB
    )


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def render(result: Result, args: argparse.Namespace) -> str:
    lines = [
        "todochat up: start-up time and resident memory",
        f"commit {result.commit}; {os.cpu_count()} CPUs; load average at start "
        f"{' '.join(result.load_at_start)}",
        result.bytecode,
        "wall s = exec of `.venv/bin/todochat up` to its banner's last line (all of tasks, chat,"
        " gateway, mcp SERVING);",
        "(own s) = the launcher's own 'up in' figure (after its interpreter start and imports);",
        "CPU s = user+system seconds each process had used when the banner appeared;",
        "other = busy cores of the machine not ours, averaged over the start; load1 = 1-min load"
        " average when it began.",
    ]
    if result.cache_notes:
        lines.append(
            "cold starts: sync; echo 3 > /proc/sys/vm/drop_caches before each: "
            + "; ".join(result.cache_notes)
        )
    elif args.cold:
        lines.append("cold starts: page cache not dropped (--no-drop-caches)")
    lines += ["", *_start_rows(result), "", *_summary_rows(result)]
    if result.turns is not None:
        turns = result.turns
        done = len(turns.latencies)
        lines += [
            "",
            f"{args.turns} chat turns through POST /api/chat ({args.users} users at once, offline "
            f"agent, add/list/complete phrasings): {done} answered, {turns.failed} failed, "
            f"{turns.unexpected} unexpected answers; {turns.seconds:.1f} s, "
            f"{done / max(turns.seconds, 1e-9):.1f} turns/s, p50 {1000 * turns.percentile(0.5):.0f} ms,"
            f" p99 {1000 * turns.percentile(0.99):.0f} ms; load1 {result.turns_load:.2f} at start,"
            f" other {result.turns_other:.2f} cores",
        ]
        if turns.first_problem:
            lines.append(f"  first problem: {turns.first_problem}")
    if result.memory_after:
        lines += ["", *_memory_rows(result, args.turns)]
    warm = _warm_median(result)
    largest = _largest(result)
    lines += ["", "Targets:"]
    if warm is not None:
        worst = max(s.seconds for s in _phase(result, "warm"))
        lines.append(
            f"  ready in under {READY_TARGET_SECONDS:.0f} s warm: median {warm:.2f} s "
            f"(max {worst:.2f} s) -> {_verdict(warm < READY_TARGET_SECONDS)}"
        )
    if largest is not None:
        lines.append(
            f"  under {MEMORY_TARGET_MB:.0f} MB per process: largest {largest[1]:.1f} MB "
            f"({largest[0]}) -> {_verdict(largest[1] < MEMORY_TARGET_MB)}"
        )
    lines.append(f"(total run time {result.total_seconds:.0f} s)")
    return "\n".join(lines)
