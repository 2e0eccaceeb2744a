"""CPU time from /proc (Linux): who burns the cores during a measurement window.

Figures are in percent of one core, so on a 2-core machine 200 % is everything.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces; fields follow it.
    return text[text.rindex(")") + 2 :].split()


def process_cpu(pid: int) -> float:
    """User + system seconds of `pid`, all its threads included (0 once it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of `root` and each of its direct children (PostgreSQL's backends)."""
    return {pid: process_cpu(pid) for pid in [root, *_children(root)]}


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies over all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))


@dataclass(frozen=True)
class Snapshot:
    wall: float
    client: float
    server: float | None
    postgres: dict[int, float] | None
    machine: tuple[float, float]


class CpuWatch:
    """Samples this process, the service process and PostgreSQL's process tree."""

    def __init__(self, server_pid: int | None, postmaster_pid: int | None) -> None:
        self._server_pid = server_pid
        self._postmaster_pid = postmaster_pid

    def sample(self) -> Snapshot:
        return Snapshot(
            wall=time.perf_counter(),
            client=time.process_time(),
            server=process_cpu(self._server_pid) if self._server_pid else None,
            postgres=tree_cpu(self._postmaster_pid) if self._postmaster_pid else None,
            machine=machine_busy(),
        )


def usage(start: Snapshot, end: Snapshot) -> dict[str, float | None]:
    """Percent of one core used by each side between two snapshots."""
    wall = end.wall - start.wall

    def pct(seconds: float) -> float:
        return round(100.0 * seconds / wall, 1)

    postgres = None
    if start.postgres is not None and end.postgres is not None:
        # A backend that appeared during the window counts in full.
        postgres = pct(sum(cpu - start.postgres.get(pid, 0.0) for pid, cpu in end.postgres.items()))
    busy = end.machine[0] - start.machine[0]
    total = end.machine[1] - start.machine[1]
    return {
        "client": pct(end.client - start.client),
        "server": pct(end.server - start.server)
        if end.server is not None and start.server is not None
        else None,
        "postgres": postgres,
        "machine": round(100.0 * (os.cpu_count() or 1) * busy / total, 1) if total else None,
    }
