"""A service as its own process, the way an operator runs it: `migrate`, then
`serve tasks` (or `serve chat`), with configuration from the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._pg import free_port


def service_environment(
    database_url: str, port: int, jwt_secret: str, var_dir: Path, service: str = "tasks"
) -> dict[str, str]:
    prefix = service.upper()
    env = dict(os.environ)
    env.update(
        {
            f"{prefix}_DATABASE_URL": database_url,
            f"{prefix}_PORT": str(port),
            # Metrics stay on (their cost is part of serving) on a free port, so a run
            # never collides with another todochat on this machine.
            f"{prefix}_METRICS_PORT": "0",
            "BIND_HOST": "127.0.0.1",
            "JWT_SECRET": jwt_secret,
            "LOG_LEVEL": "WARNING",
            # Keep the other services' defaults (SQLite files) out of the checkout.
            "TODOCHAT_VAR_DIR": str(var_dir),
        }
    )
    return env


class ServiceProcess:
    """`python -m services.cli serve SERVICE` on a free port; stderr goes to a log file.

    `extra_env` adds to (or overrides) the environment, e.g. ChatService's model and
    TASKS_TARGET settings.
    """

    def __init__(
        self,
        database_url: str,
        jwt_secret: str,
        workdir: Path,
        profile: Path | None = None,
        *,
        service: str = "tasks",
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.service = service
        self.name = {"tasks": "TaskService", "chat": "ChatService"}.get(service, service)
        self.port = free_port()
        # cProfile sees the main thread, which is where grpc.aio runs every handler.
        self._profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
        self.log_path = workdir / f"{service}-service.log"
        self._env = service_environment(
            database_url, self.port, jwt_secret, workdir / "var", service
        )
        self._env.update(extra_env or {})
        self._process: asyncio.subprocess.Process | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def migrate(self) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "services.cli",
            "migrate",
            self.service,
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise SystemExit(
                f"todochat migrate {self.service} failed:\n{output.decode(errors='replace')}"
            )

    async def start(self, within: float = 30.0) -> None:
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self._profiler,
                "-m",
                "services.cli",
                "serve",
                self.service,
                env=self._env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + within
        async with grpc.aio.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if self._process.returncode is not None:
                    raise SystemExit(f"{self.name} exited at start:\n{self.log_tail()}")
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{self.name} not SERVING after {within}s:\n{self.log_tail()}")
                await asyncio.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), 15)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()
