"""The drill's processes: ChatService and TaskService replicas as operators run them
(`python -m services.cli serve …`, configuration from the environment), and the
PostgreSQL cluster they share.

Every replica keeps its port across restarts, because Envoy's config and ChatService's
TaskService target name fixed addresses. Children run in their own session (a Ctrl-C in
the terminal reaches only the drill, which then stops them in order) and get SIGKILL
from the kernel if the drill itself dies, so no run leaves a server behind.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._pg import ThrowawayCluster, _as_postgres, _pg_bin, free_port

_PR_SET_PDEATHSIG = 1
_START_TIMEOUT_SECONDS = 30.0
_STOP_TIMEOUT_SECONDS = 15.0


def _die_with_parent() -> Callable[[], None]:
    """A pre-exec hook: the kernel sends the child SIGKILL when the drill dies."""
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before the fork

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

    return hook


class Replica:
    """One `serve chat|tasks` process on a fixed port; its stderr is appended to a log."""

    def __init__(self, name: str, kind: str, env: Mapping[str, str], workdir: Path) -> None:
        self.name = name
        self.kind = kind
        self.port = free_port()
        self.log_path = workdir / f"{name}.log"
        prefix = kind.upper()
        self._env = {**env, f"{prefix}_PORT": str(self.port)}
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    def set_env(self, name: str, value: str) -> None:
        self._env[name] = value

    async def start(self) -> float:
        """Starts the process and waits for health SERVING; returns the seconds it took."""
        began = time.monotonic()
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n".encode())
            log.flush()
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.cli",
                "serve",
                self.kind,
                env=self._env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        self.starts += 1
        await self._wait_serving(began + _START_TIMEOUT_SECONDS)
        return time.monotonic() - began

    async def _wait_serving(self, deadline: float) -> None:
        async with grpc.aio.insecure_channel(self.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if not self.running:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not SERVING in time:\n{self.log_tail()}")
                await asyncio.sleep(0.05)

    def signal(self, sig: signal.Signals) -> None:
        if self._process is None or self._process.returncode is not None:
            raise RuntimeError(f"{self.name} is not running")
        self._process.send_signal(sig)

    async def wait_exit(self, within: float = _STOP_TIMEOUT_SECONDS) -> int | None:
        """The exit status, or None if it was still running after `within` seconds."""
        if self._process is None:
            return None
        try:
            return await asyncio.wait_for(self._process.wait(), within)
        except TimeoutError:
            return None

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if the drain outlasts the timeout."""
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        if await self.wait_exit() is None and self._process is not None:
            self._process.kill()
            await self._process.wait()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


class RestartableCluster(ThrowawayCluster):
    """The benchmarks' throwaway cluster, plus the restart the drill injects."""

    def restart(self, mode: str = "fast") -> None:
        # `fast`: every client is disconnected and open transactions abort, as on a
        # failover or a minor-version upgrade. Stop then start rather than `pg_ctl
        # restart`, which would not pass `-l` again: the new server would inherit
        # pg_ctl's stdout, and a captured pipe that never closes hangs the drill.
        cmd = [_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]
        subprocess.run(_as_postgres(cmd), check=True, capture_output=True)
        self.start()


async def migrate(env: Mapping[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "migrate",
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"todochat migrate failed:\n{output.decode(errors='replace')}")


def service_env(
    database_url: str, jwt_secret: str, var_dir: Path, log_level: str
) -> dict[str, str]:
    """What every replica shares: one database, one key, the offline model, no limits."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "BIND_HOST": "127.0.0.1",
            "JWT_SECRET": jwt_secret,
            "LLM_PROVIDER": "offline",
            # The drill's load is one user per client at full speed; the limit would
            # refuse it by design and hide what the faults do.
            "CHAT_RATE_LIMIT_PER_MINUTE": "0",
            "METRICS_ENABLED": "false",
            "SHUTDOWN_GRACE_SECONDS": "5",
            "LOG_LEVEL": log_level,
            "LOG_FORMAT": "text",
            # Keep any default SQLite files out of the checkout.
            "TODOCHAT_VAR_DIR": str(var_dir),
        }
    )
    return env
