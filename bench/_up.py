"""`todochat up` as a user runs it, timed from exec to its banner, and its process tree.

The launcher's stdout is read line by line; the banner's last line starts with
"Ctrl-C stops everything", which is also what the README test waits for. Its stderr
(and the children's logs) go to a file kept for a failed run. The launcher gets a
session of its own, so a benchmark that fails half-way can end the whole tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench._cpu import machine_busy, process_cpu

BANNER_END = "Ctrl-C stops everything"
_CLEARED_ENV = ("TODOCHAT_", "VIRTUAL_ENV", "JWT_", "GEMINI_", "OPENAI_", "OTEL_")
_CLEARED_NAMES = ("DATABASE_URL", "TASKS_DATABASE_URL", "CHAT_DATABASE_URL", "LLM_PROVIDER")


def up_environment(var_dir: Path) -> dict[str, str]:
    """Ours minus anything that would change what `up` does; every port 0; offline agent."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CLEARED_ENV) and k not in _CLEARED_NAMES
    }
    env.update({f"{name}_PORT": "0" for name in ("TASKS", "CHAT", "GATEWAY", "MCP")})
    env.update({f"{name}_METRICS_PORT": "0" for name in ("TASKS", "CHAT", "GATEWAY")})
    env.update(
        {
            "TODOCHAT_VAR_DIR": str(var_dir),
            "LLM_PROVIDER": "offline",
            "CHAT_RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    return env


def todochat_binary() -> str:
    """The venv's console script, beside the interpreter running the benchmark."""
    return str(Path(sys.executable).with_name("todochat"))


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()


def children_of(parent: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return sorted(found)


def process_name(pid: int) -> str:
    """`serve tasks` -> "tasks"; the launcher itself -> "launcher"."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return "?"
    if "serve" in argv:
        return argv[argv.index("serve") + 1]
    return "launcher" if "up" in argv else Path(argv[0]).name


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB from /proc/<pid>/status: resident now, and its peak."""
    values = {"VmRSS": 0, "VmHWM": 0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values["VmRSS"], values["VmHWM"]


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class Start:
    """One `todochat up` from exec to banner, and what the machine did meanwhile."""

    seconds: float
    reported: float  # "todochat is up in X s": the launcher's own clock, after its imports
    cpu: dict[str, float]  # CPU seconds per process (launcher, tasks, ...) at the banner
    other_cores: float  # busy cores of the machine minus our processes, averaged
    load: float  # 1-minute load average when it began
    pids: dict[str, int] = field(default_factory=dict)


@dataclass
class Running:
    process: asyncio.subprocess.Process
    banner: str
    start: Start
    _drain: asyncio.Task[None]

    @property
    def gateway(self) -> str:
        match = re.search(r"REST gateway (http://\S+)", self.banner)
        assert match is not None, self.banner
        return match.group(1)

    def memory(self) -> dict[str, tuple[int, int]]:
        return {name: memory_kb(pid) for name, pid in self.start.pids.items()}

    async def stop(self, within: float = 60.0) -> int:
        """SIGTERM as Ctrl-C would; SIGKILL to the whole session if it hangs."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            kill_session(self.process.pid)
            status = await self.process.wait()
        self._drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._drain
        return status


def kill_session(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


async def _drain_lines(stream: asyncio.StreamReader) -> None:
    # Keeps the pipe from filling if anything prints after the banner.
    while await stream.readline():
        pass


async def start_up(var_dir: Path, log: Path, within: float) -> Running:
    """Runs `todochat up` and returns once its banner is printed (or raises)."""
    env = up_environment(var_dir)
    load = load_average()
    busy_before = machine_busy()
    began = time.perf_counter()
    with log.open("ab") as errors:
        process = await asyncio.create_subprocess_exec(
            todochat_binary(),
            "up",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
        )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(within):
            while True:
                raw = await process.stdout.readline()
                if not raw:
                    raise RuntimeError(f"todochat up exited ({await process.wait()}) before ready")
                lines.append(raw.decode(errors="replace"))
                if lines[-1].startswith(BANNER_END):
                    break
    except BaseException:
        kill_session(process.pid)
        await process.wait()
        raise
    seconds = time.perf_counter() - began
    busy_after = machine_busy()
    pids = {"launcher": process.pid}
    pids.update({process_name(pid): pid for pid in children_of(process.pid)})
    cpu = {name: process_cpu(pid) for name, pid in pids.items()}
    busy = busy_after[0] - busy_before[0]
    total = busy_after[1] - busy_before[1]
    busy_cores = (os.cpu_count() or 1) * busy / total if total else 0.0
    other = max(0.0, busy_cores - sum(cpu.values()) / seconds)
    banner = "".join(lines)
    reported = re.search(r"todochat is up in ([\d.]+)s", banner)
    start = Start(
        seconds=seconds,
        reported=float(reported.group(1)) if reported else float("nan"),
        cpu=cpu,
        other_cores=other,
        load=load,
        pids=pids,
    )
    drain = asyncio.ensure_future(_drain_lines(process.stdout))
    return Running(process=process, banner=banner, start=start, _drain=drain)
