"""Envoy (the real binary, `render_local`'s config) in front of a real TaskService and a
real ChatService (offline TodoBot) on one fresh PostgreSQL database, started once per
session. Tests own their data by using a user id no other test uses."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from google.protobuf import descriptor_pb2
from sqlalchemy.engine import make_url

from services.chat import app as chat_app
from services.gateway.envoy import DESCRIPTOR, render_local
from services.servicekit.config import ChatSettings, JwtSettings, LlmSettings, ServerSettings
from tests.conftest import TEST_JWT_SECRET
from tests.envoy_harness import RunningEnvoy, start_envoy
from tests.gateway_protos.backends import Backends, Recorder, start_backends
from tests.gateway_protos.build import HERE as PROBE_PROTOS
from tests.gateway_protos.build import request_for
from tests.integration.tasks.conftest import RunningTasks, start_tasks

ALLOWED_ORIGIN = "http://localhost:3000"


@dataclass
class Stack:
    envoy: RunningEnvoy
    tasks: RunningTasks
    chat_port: int

    @property
    def base_url(self) -> str:
        return self.envoy.base_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def envoy_database(postgres_server_url: str) -> AsyncIterator[str]:
    name = f"envoy_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_dsn(postgres_server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_dsn(postgres_server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
def session_jwt() -> JwtSettings:
    return JwtSettings(algorithms=("HS256",), secret=TEST_JWT_SECRET)


@pytest.fixture(scope="session")
async def stack(envoy_database: str, session_jwt: JwtSettings) -> AsyncIterator[Stack]:
    tasks = await start_tasks(envoy_database, session_jwt)
    settings = ChatSettings(
        server=ServerSettings(host="127.0.0.1", port=0, grace_seconds=2),
        database_url=envoy_database,
        tasks_target=tasks.target,
        llm=LlmSettings(provider="offline", timeout_seconds=10),
        rate_limit_per_minute=0,
    )
    await chat_app.migrate(settings)
    chat = chat_app.build(settings, session_jwt)
    chat_port = await chat.start()
    try:
        config = render_local(tasks.port, chat_port, 0, 0, cors_origins=(ALLOWED_ORIGIN,))
        async with start_envoy(config) as envoy:
            yield Stack(envoy=envoy, tasks=tasks, chat_port=chat_port)
    finally:
        await chat.stop(0)
        await tasks.app.stop(0)


@pytest.fixture(scope="session")
async def envoy_backends() -> AsyncIterator[Backends]:
    """The gateway tests' recording servicers (TaskService, ChatService, ProbeService)."""
    started = await start_backends()
    yield started
    await started.server.stop(None)


@pytest.fixture
def envoy_recorder(envoy_backends: Backends) -> Recorder:
    envoy_backends.recorder.reset()
    return envoy_backends.recorder


@pytest.fixture(scope="session")
def probe_descriptor_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our descriptor set plus the gateway tests' probe.proto and its imports, in one file."""
    merged = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR.read_bytes())
    names = {f.name for f in merged.file}
    for file in request_for(PROBE_PROTOS, ["gwtest/v1/probe.proto"]).proto_file:
        if file.name not in names:
            merged.file.append(file)
            names.add(file.name)
    path = tmp_path_factory.mktemp("envoy") / "probe.binpb"
    path.write_bytes(merged.SerializeToString())
    return path


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=20) as http:
        yield http


@pytest.fixture
def headers(token_for: Callable[[str], str], user_id: str) -> dict[str, str]:
    """The bearer token of this test's own user."""
    return {"authorization": f"Bearer {token_for(user_id)}"}
