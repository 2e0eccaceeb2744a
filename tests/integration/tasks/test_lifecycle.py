"""Operational behaviour: health follows the database; SIGTERM drains in-flight calls."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from todochat.tasks.v1 import tasks_service_pb2 as pb
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.config import JwtSettings
from tests.conftest import TEST_JWT_SECRET, ThrowawayPostgres, _dsn, _free_port
from tests.integration.tasks.conftest import start_tasks

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE = "todochat.tasks.v1.TaskService"


async def _health(target: str, service: str = SERVICE) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        response = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=service), timeout=2
        )
        return int(response.status)


async def _wait_for(target: str, status: int, within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        current = await _health(target)
        if current == status:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"health stayed {current}, wanted {status}")
        await asyncio.sleep(0.2)


async def test_health_follows_the_database(
    private_postgres: ThrowawayPostgres, jwt_settings: JwtSettings, token_for: Callable[[str], str]
) -> None:
    running = await start_tasks(private_postgres.url, jwt_settings)
    running.app.server._interval = 0.2
    try:
        assert await _health(running.target) == SERVING
        assert await _health(running.target, "") == SERVING
        private_postgres.stop()
        await _wait_for(running.target, NOT_SERVING)
        md = (("authorization", f"Bearer {token_for('u1')}"),)
        async with grpc.aio.insecure_channel(running.target) as channel:
            stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.ListTasks(pb.ListTasksRequest(), metadata=md, timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNAVAILABLE, (
                "database down is UNAVAILABLE"
            )
        private_postgres.start()
        await _wait_for(running.target, SERVING)
        async with grpc.aio.insecure_channel(running.target) as channel:
            stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
            # The pool was invalidated by the outage; the first call may still fail once,
            # and only ever as UNAVAILABLE (which clients retry).
            codes = []
            for _ in range(3):
                try:
                    await stub.AddTask(
                        pb.AddTaskRequest(title="after", request_id="once"), metadata=md, timeout=10
                    )
                    break
                except grpc.aio.AioRpcError as exc:
                    codes.append(exc.code())
            assert set(codes) <= {grpc.StatusCode.UNAVAILABLE}
            listed = await stub.ListTasks(pb.ListTasksRequest(), metadata=md, timeout=10)
            assert [t.title for t in listed.tasks] == ["after"]
    finally:
        await running.app.stop(0)


async def test_sigterm_lets_the_slow_call_finish(
    postgres_url: str, token_for: Callable[[str], str]
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "TASKS_DATABASE_URL": postgres_url,
        "TASKS_PORT": str(port),
        "JWT_SECRET": TEST_JWT_SECRET,
        "SHUTDOWN_GRACE_SECONDS": "10",
        "TASKS_METRICS_PORT": "0",
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "DEBUG",
    }
    root = Path(__file__).resolve().parents[3]
    subprocess.run(
        [sys.executable, "-m", "services.cli", "migrate"],
        env=env,
        cwd=root,
        check=True,
        capture_output=True,
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "serve", "tasks"],
        env=env,
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    target = f"127.0.0.1:{port}"
    token = token_for("slow-user")
    md = (("authorization", f"Bearer {token}"),)
    try:
        for _ in range(100):
            try:
                if await _health(target) == SERVING:
                    break
            except grpc.aio.AioRpcError:
                await asyncio.sleep(0.1)
        async with grpc.aio.insecure_channel(target) as channel:
            stub = tasks_service_pb2_grpc.TaskServiceStub(channel)
            task = (await stub.AddTask(pb.AddTaskRequest(title="slow"), metadata=md)).task
            # Hold the row lock so the update below is in flight when SIGTERM arrives.
            blocker = await asyncpg.connect(_dsn(postgres_url))
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", task.id)
            slow = asyncio.ensure_future(
                stub.UpdateTask(
                    pb.UpdateTaskRequest(task_id=task.id, title="finished"), metadata=md, timeout=20
                )
            )
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=SERVICE)
            )
            assert (await watch.read()).status == SERVING
            await asyncio.sleep(0.5)
            assert not slow.done()
            server.send_signal(signal.SIGTERM)
            update = await asyncio.wait_for(watch.read(), 5)
            assert update.status == NOT_SERVING, "health reports NOT_SERVING first"
            assert not slow.done(), "the slow call is still in flight"
            # The listener closes right after health flips; from then on new calls fail.
            refused = None
            for _ in range(30):
                async with grpc.aio.insecure_channel(target) as fresh:
                    try:
                        await tasks_service_pb2_grpc.TaskServiceStub(fresh).ListTasks(
                            pb.ListTasksRequest(), metadata=md, timeout=2
                        )
                    except grpc.aio.AioRpcError as exc:
                        refused = exc.code()
                        break
                await asyncio.sleep(0.1)
            # gRPC core refuses with UNAVAILABLE once the listener is gone; a call that
            # races the close on an already-accepted connection is CANCELLED instead.
            assert refused in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}, (
                "new calls are refused"
            )
            assert not slow.done(), "while the slow call is still in flight"
            await transaction.rollback()
            await blocker.close()
            response = await slow
            assert response.task.title == "finished"
        assert server.wait(timeout=15) == 0
    finally:
        if server.poll() is None:
            server.kill()
        output = server.stdout.read().decode() if server.stdout else ""
        assert "rpc finished" in output, "the server did log the calls"
        assert TEST_JWT_SECRET not in output
        assert token not in output, "no token in logs, even at DEBUG"
