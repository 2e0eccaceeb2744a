"""Server bootstrap shared by every gRPC service.

`GrpcServer` wires health, reflection, the call interceptor and message limits around
the servicers a service registers, and owns the lifecycle: start on a port (0 picks a
free one, which tests use), keep health in step with the database, and on SIGTERM
report NOT_SERVING, stop accepting, and drain in-flight calls within the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.servicekit.auth import TokenVerifier
from services.servicekit.config import ServerSettings
from services.servicekit.metrics import Metrics, MetricsServer
from services.servicekit.rpc import CallInterceptor
from services.servicekit.tracing import Tracing

_log = logging.getLogger("todochat.server")

ReadinessProbe = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class ServiceBinding:
    """A servicer to host: its full proto name and how to add it to a server."""

    name: str
    register: Callable[[aio.Server], None]


class GrpcServer:
    def __init__(
        self,
        settings: ServerSettings,
        *,
        verifier: TokenVerifier,
        bindings: Sequence[ServiceBinding],
        readiness: ReadinessProbe,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
        health_interval_seconds: float = 2.0,
    ) -> None:
        self._settings = settings
        self._bindings = list(bindings)
        self._readiness = readiness
        self._interval = health_interval_seconds
        self._health = health.aio.HealthServicer()
        self._server = aio.server(
            interceptors=[
                CallInterceptor(
                    verifier,
                    observer=metrics.observe_rpc if metrics else None,
                    tracing=tracing,
                )
            ],
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
                # Above gRPC's 8 KiB default, so an oversized token reaches the
                # verifier and gets a clear UNAUTHENTICATED instead of a transport error.
                ("grpc.max_metadata_size", 32 * 1024),
                ("grpc.absolute_max_metadata_size", 64 * 1024),
                ("grpc.so_reuseport", 0),
                # Clients reconnect every few minutes, so DNS round_robin picks up new
                # pods after a scale-out instead of pinning to the old ones forever.
                ("grpc.max_connection_age_ms", 5 * 60_000),
                ("grpc.max_connection_age_grace_ms", 30_000),
                ("grpc.keepalive_time_ms", 60_000),
                ("grpc.keepalive_timeout_ms", 20_000),
                ("grpc.http2.max_pings_without_data", 0),
                ("grpc.keepalive_permit_without_calls", 1),
            ],
        )
        self._metrics = metrics
        self._metrics_server: MetricsServer | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._serving: bool | None = None
        self._stopping = False
        self.port = 0

    @property
    def metrics_port(self) -> int | None:
        return self._metrics_server.port if self._metrics_server is not None else None

    @property
    def service_names(self) -> list[str]:
        return [b.name for b in self._bindings]

    async def start(self) -> int:
        for binding in self._bindings:
            binding.register(self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        reflection.enable_server_reflection(
            [
                *self.service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            self._server,
        )
        address = f"{self._settings.host}:{self._settings.port}"
        self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen on {address}")
        await self._set_health(await self._readiness())
        await self._server.start()
        if self._metrics is not None and self._settings.metrics_port is not None:
            self._metrics_server = self._metrics.serve(
                self._settings.host, self._settings.metrics_port
            )
        self._monitor = asyncio.create_task(self._watch_readiness(), name="health-monitor")
        _log.info(
            "grpc server listening",
            extra={"address": f"{self._settings.host}:{self.port}", "services": self.service_names},
        )
        return self.port

    async def _set_health(self, serving: bool) -> None:
        if self._stopping or serving == self._serving:
            return
        state = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ["", *self.service_names]:
            await self._health.set(name, state)
        if self._serving is not None:
            _log.warning("health changed", extra={"serving": serving})
        self._serving = serving

    async def _watch_readiness(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self._set_health(await self._readiness())

    async def stop(self, grace: float | None = None) -> None:
        """NOT_SERVING first, then refuse new calls and let in-flight ones finish."""
        if self._stopping:
            return
        await self._set_health(False)
        self._stopping = True
        await self._health.enter_graceful_shutdown()
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        await self._server.stop(self._settings.grace_seconds if grace is None else grace)
        if self._metrics_server is not None:
            await asyncio.to_thread(self._metrics_server.stop)
        _log.info("grpc server stopped")

    async def wait(self) -> None:
        await self._server.wait_for_termination()


async def run_until_signalled(
    server: GrpcServer, *, on_stop: Callable[[], Awaitable[None]]
) -> None:
    """Serves until SIGTERM/SIGINT, then shuts down gracefully and runs `on_stop`."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
        await stop.wait()
        _log.info("shutdown requested; draining")
        await server.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await on_stop()
