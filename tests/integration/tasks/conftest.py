"""A real TaskService on 127.0.0.1 (port 0) over a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
import pytest
from todochat.tasks.v1 import tasks_service_pb2_grpc

from services.servicekit.config import JwtSettings, ServerSettings, TasksSettings
from services.tasks import app as tasks_app


@dataclass
class RunningTasks:
    app: tasks_app.TasksApp
    port: int
    settings: TasksSettings

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def start_tasks(database_url: str, jwt: JwtSettings, grace: float = 5.0) -> RunningTasks:
    settings = TasksSettings(
        server=ServerSettings(host="127.0.0.1", port=0, grace_seconds=grace),
        database_url=database_url,
    )
    await tasks_app.migrate(settings)
    app = tasks_app.build(settings, jwt)
    port = await app.start()
    return RunningTasks(app=app, port=port, settings=settings)


@pytest.fixture
async def tasks_service(
    postgres_url: str, jwt_settings: JwtSettings
) -> AsyncIterator[RunningTasks]:
    running = await start_tasks(postgres_url, jwt_settings)
    yield running
    await running.app.stop(0)


@pytest.fixture
async def tasks_stub(
    tasks_service: RunningTasks,
) -> AsyncIterator[tasks_service_pb2_grpc.TaskServiceStub]:
    async with grpc.aio.insecure_channel(tasks_service.target) as channel:
        yield tasks_service_pb2_grpc.TaskServiceStub(channel)


@pytest.fixture
def auth(token_for: Callable[[str], str]) -> Callable[[str], tuple[tuple[str, str], ...]]:
    """Call metadata carrying a bearer token for `user`."""

    def metadata(user: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {token_for(user)}"),)

    return metadata
