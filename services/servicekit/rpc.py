"""What happens around every RPC: authentication, error translation, access logs.

One interceptor instead of a chain keeps the per-call overhead to a single wrapper.
Handlers stay thin: they read `current_principal()`, raise domain errors, and never
pick a status code.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, cast

import grpc
from grpc import aio
from opentelemetry.trace import Span

from services.servicekit import errors, status
from services.servicekit.auth import (
    TokenVerifier,
    bearer_from_metadata,
    reset_principal,
    set_principal,
)
from services.servicekit.logging import bind_request_id
from services.servicekit.tracing import Tracing

_log = logging.getLogger("todochat.rpc")

# These serve operators and the platform; they never touch user data.
PUBLIC_METHOD_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)

CallObserver = Callable[[str, str, float], None]
_UnaryBehaviour = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]
_StreamBehaviour = Callable[[Any, aio.ServicerContext[Any, Any]], AsyncIterator[Any]]


def _request_id(metadata: Iterable[tuple[str, Any]] | None) -> str:
    for key, value in metadata or ():
        if key == "x-request-id" and isinstance(value, str) and 0 < len(value) <= 128:
            return value
    return uuid.uuid4().hex


class CallInterceptor(aio.ServerInterceptor):
    """Authenticates each call, maps domain errors to statuses, and logs the outcome."""

    def __init__(
        self,
        verifier: TokenVerifier,
        *,
        observer: CallObserver | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self._verifier = verifier
        self._observer = observer
        self._tracing = tracing or Tracing.disabled()
        # method → the handler this interceptor serves it with. A server's handlers are
        # fixed once it starts, so each method is wrapped once, not on every call; the
        # map holds only methods the server has (unknown ones find no handler).
        self._wrapped: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        method: str = handler_call_details.method
        wrapped = self._wrapped.get(method)
        if wrapped is not None:
            return wrapped
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        wrapped = self._wrap(method, handler)
        self._wrapped[method] = wrapped
        return wrapped

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler[Any, Any]
    ) -> grpc.RpcMethodHandler[Any, Any]:
        if method.startswith(PUBLIC_METHOD_PREFIXES):
            return handler
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._wrap_unary(method, cast(_UnaryBehaviour, handler.unary_unary)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, cast(_StreamBehaviour, handler.unary_stream)),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client/bidi streaming: none in our protos

    async def _enter(self, call: _Call, context: aio.ServicerContext[Any, Any]) -> None:
        metadata = context.invocation_metadata()
        bind_request_id(_request_id(metadata))
        token = bearer_from_metadata(metadata)
        call.principal_token = set_principal(await self._verifier.verify(token))

    async def _fail(
        self, call: _Call, context: aio.ServicerContext[Any, Any], exc: BaseException
    ) -> None:
        """Records why the call failed and answers it with its status; always raises."""
        if isinstance(exc, errors.DomainError):
            call.code = _code_name(status.code_for(exc))
            await context.abort_with_status(status.to_status(exc))
        if isinstance(exc, aio.AbortError):
            call.code = context.code().name if context.code() else "UNKNOWN"
            raise exc
        if isinstance(exc, asyncio.CancelledError):
            call.code = "CANCELLED"  # the client went away or its deadline passed
            raise exc
        call.code, unexpected = _unexpected_status(call.method, exc)
        await context.abort_with_status(unexpected)

    def _finish(self, call: _Call) -> None:
        if call.principal_token is not None:
            reset_principal(call.principal_token)
        if call.span is not None:
            Tracing.finish(call.span, call.code)
        elapsed = time.perf_counter() - call.started
        if self._observer is not None:
            self._observer(call.method, call.code, elapsed)
        # Checked here so a process logging at WARNING does not build the extras either.
        if _log.isEnabledFor(logging.INFO):
            _log.info(
                "rpc finished",
                extra={
                    "rpc_method": call.method,
                    "grpc_code": call.code,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )

    def _wrap_unary(
        self, method: str, behaviour: Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]
    ) -> Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]:
        async def traced(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
            parent = self._tracing.extract(context.invocation_metadata())
            with self._tracing.server_span(method, parent) as span:
                return await serve(request, context, span)

        async def serve(
            request: Any, context: aio.ServicerContext[Any, Any], span: Span | None = None
        ) -> Any:
            call = _Call(method, span)
            try:
                await self._enter(call, context)
                return await behaviour(request, context)
            except (Exception, asyncio.CancelledError) as exc:
                await self._fail(call, context, exc)
                raise  # not reached: _fail raises
            finally:
                self._finish(call)

        # Tracing off: no extraction and no span at all (even a no-op span costs a
        # context manager, a contextvar set and attribute calls per call).
        return traced if self._tracing.enabled else serve

    def _wrap_stream(
        self,
        method: str,
        behaviour: Callable[[Any, aio.ServicerContext[Any, Any]], AsyncIterator[Any]],
    ) -> Callable[[Any, aio.ServicerContext[Any, Any]], AsyncIterator[Any]]:
        async def traced(
            request: Any, context: aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            parent = self._tracing.extract(context.invocation_metadata())
            with self._tracing.server_span(method, parent) as span:
                async for item in serve(request, context, span):
                    yield item

        async def serve(
            request: Any, context: aio.ServicerContext[Any, Any], span: Span | None = None
        ) -> AsyncIterator[Any]:
            call = _Call(method, span)
            try:
                await self._enter(call, context)
                async for item in behaviour(request, context):
                    yield item
            except (Exception, asyncio.CancelledError) as exc:
                await self._fail(call, context, exc)
                raise  # not reached: _fail raises
            finally:
                self._finish(call)

        return traced if self._tracing.enabled else serve


class _Call:
    """What the interceptor remembers about one call while it runs."""

    __slots__ = ("code", "method", "principal_token", "span", "started")

    def __init__(self, method: str, span: Span | None) -> None:
        self.method = method
        self.span = span
        self.code = "OK"
        self.principal_token: Any = None
        self.started = time.perf_counter()


def _unexpected_status(method: str, exc: BaseException) -> tuple[str, grpc.Status]:
    mapped = status.from_exception(exc)
    if mapped is not None:
        _log.warning("dependency unavailable: %s", type(exc).__name__, extra={"rpc_method": method})
        return _code_name(status.code_for(mapped)), status.to_status(mapped)
    _log.exception("unhandled error", extra={"rpc_method": method})
    return "INTERNAL", status.internal_status()


_CODE_NAMES: dict[int, str] = {member.value[0]: member.name for member in grpc.StatusCode}


def _code_name(code: int) -> str:
    return _CODE_NAMES.get(code, "UNKNOWN")
