"""OpenTelemetry tracing: off unless an OTLP endpoint is configured.

A `Tracing` object is built once per process and passed down; it is not installed as
OpenTelemetry's global provider, so tests can run several services in one process,
each with its own exporter. Context crosses processes as W3C `traceparent` metadata:
the gateway and the TaskService client inject it, the call interceptor extracts it,
so one chat turn is one trace across gateway, ChatService and TaskService.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


class Tracing:
    """A tracer plus the propagation helpers every service uses."""

    def __init__(self, provider: TracerProvider | None, service: str) -> None:
        self._provider = provider
        self.enabled = provider is not None
        self.tracer: trace.Tracer = (
            provider.get_tracer("todochat", schema_url=None) if provider else trace.NoOpTracer()
        )
        self.service = service

    @classmethod
    def disabled(cls, service: str = "todochat") -> Tracing:
        return cls(None, service)

    @classmethod
    def for_otlp(cls, service: str, endpoint: str | None) -> Tracing:
        if not endpoint:
            return cls.disabled(service)
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        return cls.with_exporter(service, exporter, batch=True)

    @classmethod
    def with_exporter(cls, service: str, exporter: SpanExporter, *, batch: bool = False) -> Tracing:
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        provider.add_span_processor(processor)
        return cls(provider, service)

    def extract(self, metadata: Iterable[tuple[str, Any]] | None) -> Context | None:
        if not self.enabled:
            return None
        carrier = {k: v for k, v in (metadata or ()) if isinstance(v, str)}
        return _PROPAGATOR.extract(carrier)

    def inject(self, carrier: MutableMapping[str, str]) -> None:
        """Adds `traceparent` for the current span (nothing when tracing is off)."""
        if self.enabled:
            _PROPAGATOR.inject(carrier)

    def outgoing_metadata(self) -> tuple[tuple[str, str], ...]:
        carrier: dict[str, str] = {}
        self.inject(carrier)
        return tuple(carrier.items())

    @contextmanager
    def server_span(self, name: str, parent: Context | None) -> Iterator[Span]:
        with self.tracer.start_as_current_span(
            name,
            context=parent,
            kind=SpanKind.SERVER,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span

    @staticmethod
    def finish(span: Span, code: str) -> None:
        span.set_attribute("rpc.grpc.status_code", code)
        if code not in ("OK", "NOT_FOUND", "INVALID_ARGUMENT", "PERMISSION_DENIED"):
            span.set_status(Status(StatusCode.ERROR, code))

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()
