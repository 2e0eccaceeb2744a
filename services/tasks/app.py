"""Wires TaskService from settings: engine, use-case deps, servicer, gRPC server."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from grpc import aio
from sqlalchemy.ext.asyncio import AsyncEngine
from todochat.tasks.v1 import tasks_service_pb2, tasks_service_pb2_grpc

from services.servicekit import database
from services.servicekit.auth import TokenVerifier
from services.servicekit.config import JwtSettings, TasksSettings
from services.servicekit.metrics import Metrics
from services.servicekit.server import GrpcServer, ServiceBinding, run_until_signalled
from services.servicekit.tracing import Tracing
from services.tasks.handlers import TaskServicer
from services.tasks.usecases import TaskDeps

SERVICE_NAME = tasks_service_pb2.DESCRIPTOR.services_by_name["TaskService"].full_name
MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version_tasks"

_log = logging.getLogger("todochat.tasks")


@dataclass
class TasksApp:
    server: GrpcServer
    engine: AsyncEngine
    metrics: Metrics
    tracing: Tracing

    async def start(self) -> int:
        return await self.server.start()

    async def stop(self, grace: float | None = None) -> None:
        await self.server.stop(grace)
        await self.engine.dispose()
        self.tracing.shutdown()


def build(
    settings: TasksSettings,
    jwt: JwtSettings,
    *,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> TasksApp:
    engine = database.create_engine(settings.database_url)
    metrics = metrics or Metrics("tasks")
    metrics.watch_engine("tasks", engine)
    tracing = tracing or Tracing.for_otlp("todochat-tasks", settings.server.otlp_endpoint)
    deps = TaskDeps(
        sessions=database.create_session_factory(engine),
        reads=engine.execution_options(isolation_level="AUTOCOMMIT"),
    )
    servicer = TaskServicer(deps)

    def register(server: aio.Server) -> None:
        tasks_service_pb2_grpc.add_TaskServiceServicer_to_server(servicer, server)

    async def ready() -> bool:
        return await database.ping(engine)

    server = GrpcServer(
        settings.server,
        verifier=TokenVerifier(jwt),
        bindings=[ServiceBinding(SERVICE_NAME, register)],
        readiness=ready,
        metrics=metrics,
        tracing=tracing,
    )
    return TasksApp(server=server, engine=engine, metrics=metrics, tracing=tracing)


async def migrate(settings: TasksSettings) -> None:
    # Imported here: Alembic costs a serving process start-up time it never uses.
    from services.servicekit import migrations

    await migrations.upgrade(settings.database_url, MIGRATIONS, VERSION_TABLE)


async def serve(settings: TasksSettings, jwt: JwtSettings) -> None:
    app = build(settings, jwt)
    _log.info(
        "starting TaskService",
        extra={"database": database.describe(settings.database_url), "port": settings.server.port},
    )

    async def cleanup() -> None:
        await app.engine.dispose()
        app.tracing.shutdown()

    await run_until_signalled(app.server, on_stop=cleanup)
