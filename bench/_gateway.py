"""The Python gateway as its own process, the way an operator runs it: `todochat serve
gateway` with TASKS_TARGET pointing at the benchmarked TaskService."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

from bench._pg import free_port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - 127.0.0.1 only
            return bool(response.status == 200)
    except OSError:
        return False


class GatewayProcess:
    """`python -m services.cli serve gateway` on a free port; output goes to a log file.

    ChatService is not part of this benchmark: CHAT_TARGET names a port nobody listens
    on, which only makes the gateway's `/health` report it down.
    """

    def __init__(self, tasks_target: str, jwt_secret: str, workdir: Path) -> None:
        self.port = free_port()
        self.log_path = workdir / "gateway.log"
        self._env = dict(os.environ)
        self._env.update(
            {
                "GATEWAY_PORT": str(self.port),
                "TASKS_TARGET": tasks_target,
                "CHAT_TARGET": f"127.0.0.1:{free_port()}",
                # As bench._service: metrics on, on a free port; warnings only.
                "GATEWAY_METRICS_PORT": "0",
                "BIND_HOST": "127.0.0.1",
                "JWT_SECRET": jwt_secret,
                "LOG_LEVEL": "WARNING",
                "TODOCHAT_VAR_DIR": str(workdir / "var"),
            }
        )
        self._process: asyncio.subprocess.Process | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self, within: float = 30.0) -> None:
        with self.log_path.open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.cli",
                "serve",
                "gateway",
                env=self._env,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + within
        while not await asyncio.to_thread(_answers, f"{self.base_url}/"):
            if self._process.returncode is not None:
                raise SystemExit(f"gateway exited at start:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise SystemExit(f"gateway not answering after {within}s:\n{self.log_tail()}")
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
