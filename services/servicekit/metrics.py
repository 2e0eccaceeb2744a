"""Prometheus metrics, one registry per process, served on a separate port.

A `Metrics` object is built by the app and passed to whatever records: the call
interceptor (RPCs), the agent (LLM and tool calls), the gateway (HTTP). No module-level
registry: tests build their own and read it back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    # Only a type here: the gateway records metrics but has no database, and importing
    # SQLAlchemy would cost it ~0.2 s of CPU at start.
    from sqlalchemy.ext.asyncio import AsyncEngine

_log = logging.getLogger("todochat.metrics")

# Latency buckets from sub-millisecond RPCs to multi-second model calls.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class _PoolCollector(Collector):
    """Connection-pool use, read when scraped (no per-request cost)."""

    def __init__(self, engines: dict[str, AsyncEngine]) -> None:
        self._engines = engines

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "todochat_db_pool_connections",
            "Database connections by pool state",
            labels=["database", "state"],
        )
        for name, engine in self._engines.items():
            pool: Any = engine.sync_engine.pool
            for state, reader in (
                ("checked_out", "checkedout"),
                ("idle", "checkedin"),
                ("overflow", "overflow"),
            ):
                method = getattr(pool, reader, None)
                if callable(method):
                    family.add_metric([name, state], float(method()))
        yield family


@dataclass
class MetricsServer:
    stop: Callable[[], None]
    port: int


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self._engines: dict[str, AsyncEngine] = {}
        self.registry.register(_PoolCollector(self._engines))
        self.rpc_requests = Counter(
            "todochat_rpc_requests",
            "gRPC calls served, by method and status code",
            ["service", "method", "code"],
            registry=self.registry,
        )
        self.rpc_latency = Histogram(
            "todochat_rpc_duration_seconds",
            "gRPC call latency",
            ["service", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.llm_calls = Counter(
            "todochat_llm_calls",
            "Model calls, by provider and outcome",
            ["provider", "outcome"],
            registry=self.registry,
        )
        self.llm_latency = Histogram(
            "todochat_llm_duration_seconds",
            "Model call latency",
            ["provider"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.llm_tokens = Counter(
            "todochat_llm_tokens",
            "Tokens used, by provider and kind (prompt, completion)",
            ["provider", "kind"],
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "todochat_tool_calls",
            "Agent tool calls, by tool and outcome (ok, rejected, failed)",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.http_requests = Counter(
            "todochat_http_requests",
            "REST requests served by the gateway, by route and HTTP status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "todochat_http_duration_seconds",
            "REST request latency at the gateway",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=self.registry,
        )

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        """A `CallObserver` for servicekit.rpc.CallInterceptor."""
        self.rpc_requests.labels(self.service, method, code).inc()
        self.rpc_latency.labels(self.service, method).observe(seconds)

    def watch_engine(self, name: str, engine: AsyncEngine) -> None:
        self._engines[name] = engine

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))

    def serve(self, host: str, port: int) -> MetricsServer:
        """Serves /metrics on its own port from a background thread (never the event loop)."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        bound = int(server.server_address[1])
        _log.info("metrics listening", extra={"address": f"{host}:{bound}"})
        return MetricsServer(stop=stop, port=bound)
