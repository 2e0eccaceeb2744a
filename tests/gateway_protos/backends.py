"""Recording test servicers standing in for the backends behind the gateway.

Each servicer implements a generated servicer interface (TaskService, ChatService,
the test ProbeService). Every call is recorded (method, request, metadata, deadline)
and answered from a script the test sets: a reply, an error status with details,
header metadata, a list of stream messages, or a stream that hangs until cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import descriptor, message_factory
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from todochat.chat.v1 import chat_service_pb2, chat_service_pb2_grpc, chat_service_routes
from todochat.tasks.v1 import tasks_service_pb2, tasks_service_pb2_grpc, tasks_service_routes

from services.gateway.runtime.app import GatewayApp
from services.gateway.runtime.options import Backend, GatewayOptions
from tests.gateway_protos.build import probe_modules


@dataclass
class Script:
    """What the next call answers."""

    reply: Message | None = None
    error: status_pb2.Status | None = None
    header_metadata: tuple[tuple[str, str | bytes], ...] = ()
    stream: tuple[Message, ...] = ()
    hang_after_stream: bool = False


@dataclass
class Recorded:
    method: str
    request: Any
    metadata: dict[str, str | bytes]
    time_remaining: float | None


@dataclass
class Recorder:
    calls: list[Recorded] = field(default_factory=list)
    script: Script = field(default_factory=Script)
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)

    def reset(self) -> None:
        self.calls.clear()
        self.script = Script()
        self.cancelled = asyncio.Event()

    def record(self, method: str, request: Any, context: aio.ServicerContext[Any, Any]) -> Script:
        metadata = {k: v for k, v in (context.invocation_metadata() or ())}
        self.calls.append(Recorded(method, request, metadata, context.time_remaining()))
        return self.script


async def _finish(script: Script, context: aio.ServicerContext[Any, Any]) -> None:
    if script.header_metadata:
        await context.send_initial_metadata(script.header_metadata)
    if script.error is not None:
        status = rpc_status.to_status(script.error)
        await context.abort(status.code, status.details, status.trailing_metadata)


def _unary(recorder: Recorder, method: descriptor.MethodDescriptor) -> Any:
    reply_type = message_factory.GetMessageClass(method.output_type)

    async def handler(
        self: Any, request: Message, context: aio.ServicerContext[Any, Any]
    ) -> Message:
        script = recorder.record(method.name, request, context)
        await _finish(script, context)
        if script.reply is not None:
            return script.reply
        return request if isinstance(request, reply_type) else reply_type()

    return handler


def _client_stream(recorder: Recorder, method: descriptor.MethodDescriptor) -> Any:
    reply_type = message_factory.GetMessageClass(method.output_type)

    async def handler(self: Any, requests: AsyncIterator[Message], context: Any) -> Message:
        received = [r async for r in requests]
        script = recorder.record(method.name, received, context)
        await _finish(script, context)
        return script.reply or reply_type()

    return handler


def _server_stream(recorder: Recorder, method: descriptor.MethodDescriptor) -> Any:
    async def handler(self: Any, request: Message, context: Any) -> AsyncIterator[Message]:
        script = recorder.record(method.name, request, context)
        if script.header_metadata:
            await context.send_initial_metadata(script.header_metadata)
        for item in script.stream:
            yield item
        if script.hang_after_stream:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                recorder.cancelled.set()
                raise
        if script.error is not None:
            status = rpc_status.to_status(script.error)
            await context.abort(status.code, status.details, status.trailing_metadata)

    return handler


def recording_servicer(
    base: type, service: descriptor.ServiceDescriptor, recorder: Recorder
) -> Any:
    """An instance of a subclass of the generated `base` whose every method records."""
    namespace: dict[str, Any] = {}
    for method in service.methods:
        if method.server_streaming:
            namespace[method.name] = _server_stream(recorder, method)
        elif method.client_streaming:
            namespace[method.name] = _client_stream(recorder, method)
        else:
            namespace[method.name] = _unary(recorder, method)
    return type(f"Recording{base.__name__}", (base,), namespace)()


@dataclass
class Backends:
    server: aio.Server
    target: str
    recorder: Recorder
    health: health.aio.HealthServicer


async def start_backends() -> Backends:
    probe_pb2, probe_grpc, _ = probe_modules()
    recorder = Recorder()
    server = aio.server()
    for base, add, service in (
        (
            tasks_service_pb2_grpc.TaskServiceServicer,
            tasks_service_pb2_grpc.add_TaskServiceServicer_to_server,
            tasks_service_pb2.DESCRIPTOR.services_by_name["TaskService"],
        ),
        (
            chat_service_pb2_grpc.ChatServiceServicer,
            chat_service_pb2_grpc.add_ChatServiceServicer_to_server,
            chat_service_pb2.DESCRIPTOR.services_by_name["ChatService"],
        ),
        (
            probe_grpc.ProbeServiceServicer,
            probe_grpc.add_ProbeServiceServicer_to_server,
            probe_pb2.DESCRIPTOR.services_by_name["ProbeService"],
        ),
    ):
        add(recording_servicer(base, service, recorder), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    for name in (
        "todochat.tasks.v1.TaskService",
        "todochat.chat.v1.ChatService",
        "gwtest.v1.ProbeService",
    ):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return Backends(server, f"127.0.0.1:{port}", recorder, health_servicer)


def gateway_for(backends: Backends, options: GatewayOptions | None = None) -> GatewayApp:
    """A gateway over all three services, on one channel to the test server."""
    _, _, probe_routes = probe_modules()
    routes = [*tasks_service_routes.ROUTES, *chat_service_routes.ROUTES, *probe_routes.ROUTES]
    services = (
        *tasks_service_routes.SERVICES,
        *chat_service_routes.SERVICES,
        *probe_routes.SERVICES,
    )
    channel = aio.insecure_channel(backends.target)
    return GatewayApp(
        routes, [Backend(backends.target, channel, services)], options or GatewayOptions()
    )


def status(code: grpc.StatusCode, message: str, *details: Message) -> status_pb2.Status:
    """A google.rpc.Status with packed details, for scripts."""
    result = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        result.details.add().Pack(detail)
    return result
