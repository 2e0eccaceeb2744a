"""Closed-loop load: N coroutines each issue one call after another, for a fixed time.

The first `warmup` seconds are discarded (connections open, caches fill); a call
counts when it completes inside the measurement window, and its latency is the wall
time of that one await as this client sees it. Throughput is completions / window.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench._cpu import CpuWatch, Snapshot, usage

Call = Callable[[], Awaitable[None]]
# Builds the call loop `i` of the N concurrent loops issues (e.g. on its own channel).
CallFactory = Callable[[int], Call]


@dataclass
class CellResult:
    completed: int = 0
    window_seconds: float = 0.0
    errors: int = 0
    first_error: str | None = None
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float | None] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "completed": self.completed,
            "rps": self.completed / self.window_seconds if self.window_seconds else 0.0,
            "p50_ms": _percentile(ordered, 0.50) * 1000,
            "p99_ms": _percentile(ordered, 0.99) * 1000,
            "errors": self.errors,
            "first_error": self.first_error,
            "cpu": self.cpu,
        }


def _percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 for no samples)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


async def run_cell(
    call_for: CallFactory, *, concurrency: int, warmup: float, duration: float, watch: CpuWatch
) -> CellResult:
    result = CellResult()
    begin = time.perf_counter()
    window_start = begin + warmup
    window_end = window_start + duration
    snapshots: list[Snapshot] = []

    async def worker(call: Call) -> None:
        while True:
            started = time.perf_counter()
            if started >= window_end:
                return
            try:
                await call()
            except Exception as exc:  # counted and reported; the loop keeps going
                result.errors += 1
                if result.first_error is None:
                    result.first_error = f"{type(exc).__name__}: {exc}"[:500]
                continue
            finished = time.perf_counter()
            if window_start <= finished <= window_end:
                result.latencies.append(finished - started)

    async def sampler() -> None:
        await asyncio.sleep(max(0.0, window_start - time.perf_counter()))
        snapshots.append(watch.sample())
        await asyncio.sleep(max(0.0, window_end - time.perf_counter()))
        snapshots.append(watch.sample())

    await asyncio.gather(sampler(), *(worker(call_for(i)) for i in range(concurrency)))
    result.completed = len(result.latencies)
    result.window_seconds = duration
    result.cpu = usage(snapshots[0], snapshots[1])
    return result
