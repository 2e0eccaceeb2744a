"""TaskService as its own process, the way an operator runs it: `migrate`, then
`serve tasks`, with configuration from the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench._pg import free_port


def service_environment(
    database_url: str, port: int, jwt_secret: str, var_dir: Path
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "TASKS_DATABASE_URL": database_url,
            "TASKS_PORT": str(port),
            "BIND_HOST": "127.0.0.1",
            "JWT_SECRET": jwt_secret,
            "LOG_LEVEL": "WARNING",
            # Keep the other services' defaults (SQLite files) out of the checkout.
            "TODOCHAT_VAR_DIR": str(var_dir),
        }
    )
    return env


class ServiceProcess:
    """`python -m services.cli serve tasks` on a free port; stderr goes to a log file."""

    def __init__(
        self, database_url: str, jwt_secret: str, workdir: Path, profile: Path | None = None
    ) -> None:
        self.port = free_port()
        # cProfile sees the main thread, which is where grpc.aio runs every handler.
        self._profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
        self.log_path = workdir / "tasks-service.log"
        self._env = service_environment(database_url, self.port, jwt_secret, workdir / "var")
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
            env=self._env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"todochat migrate failed:\n{output.decode(errors='replace')}")

    async def start(self, within: float = 30.0) -> None:
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self._profiler,
                "-m",
                "services.cli",
                "serve",
                "tasks",
                env=self._env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + within
        async with grpc.aio.insecure_channel(self.target) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if self._process.returncode is not None:
                    raise SystemExit(f"TaskService exited at start:\n{self.log_tail()}")
                try:
                    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"TaskService not SERVING after {within}s:\n{self.log_tail()}")
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
