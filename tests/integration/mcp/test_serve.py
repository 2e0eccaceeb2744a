"""`todochat serve mcp`: the MCP server alone in its own process, as in a container."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from tests.conftest import TEST_JWT_SECRET
from tests.integration.mcp.conftest import McpEnv
from tests.integration.tasks.conftest import RunningTasks


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_healthy(base: str, server: subprocess.Popen[bytes]) -> None:
    # Generous: importing the MCP SDK alone takes seconds on a busy CI machine.
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            assert server.poll() is None, "todochat serve mcp exited"
            try:
                if (await http.get(f"{base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("todochat serve mcp did not become healthy in 60 s")


async def test_serve_mcp_runs_the_tools_and_stops_on_sigterm(
    tasks_service: RunningTasks,
    tasks_stub: tasks_service_pb2_grpc.TaskServiceStub,
    token_for: Callable[[str], str],
    user_id: str,
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "MCP_PORT": str(port),
        "TASKS_TARGET": tasks_service.target,
        "JWT_SECRET": TEST_JWT_SECRET,
        "TODOCHAT_VAR_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
    }
    root = Path(__file__).resolve().parents[3]
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "mcp"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    token = token_for(user_id)
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}", server)
        mcp = McpEnv(f"http://127.0.0.1:{port}/mcp", tasks_service, tasks_stub, token_for, "auto")
        async with mcp.client(token) as client:
            added = await client.call_tool("add_task", {"title": "from an MCP client"})
        assert not added.is_error
        listed = await tasks_stub.ListTasks(pb.ListTasksRequest(), metadata=mcp.md(user_id))
        assert [t.title for t in listed.tasks] == ["from an MCP client"]
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
        output = server.stdout.read().decode() if server.stdout else ""
    assert "mcp tool call" in output, "the tool call was logged"
    assert token not in output, "no token in logs, even at DEBUG"
    assert TEST_JWT_SECRET not in output
