"""The one table from domain errors to gRPC statuses with google.rpc details.

Every error leaves a service through `to_status`: one `ErrorInfo` (reason + domain),
plus `BadRequest` for field violations and `RetryInfo` when waiting helps (AIP-193).
"""

from __future__ import annotations

import math

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from services.servicekit import errors

ERROR_DOMAIN = "todochat.dev"

# Order matters only for readability; each class maps to exactly one code.
_CODES: dict[type[errors.DomainError], int] = {
    errors.InvalidArgument: code_pb2.INVALID_ARGUMENT,
    errors.Unauthenticated: code_pb2.UNAUTHENTICATED,
    errors.PermissionDenied: code_pb2.PERMISSION_DENIED,
    errors.NotFound: code_pb2.NOT_FOUND,
    errors.FailedPrecondition: code_pb2.FAILED_PRECONDITION,
    errors.Aborted: code_pb2.ABORTED,
    errors.ResourceExhausted: code_pb2.RESOURCE_EXHAUSTED,
    errors.Unavailable: code_pb2.UNAVAILABLE,
    errors.DeadlineExceeded: code_pb2.DEADLINE_EXCEEDED,
}


def code_for(error: errors.DomainError) -> int:
    """The google.rpc code for a domain error (INTERNAL for an unmapped subclass)."""
    for cls in type(error).__mro__:
        code = _CODES.get(cls)
        if code is not None:
            return code
    return int(code_pb2.INTERNAL)


def _pack(message: object) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)  # type: ignore[arg-type]
    return packed


def to_rpc_status(error: errors.DomainError) -> status_pb2.Status:
    """Builds the google.rpc.Status (code, message, details) for `error`."""
    status = status_pb2.Status(code=code_for(error), message=error.message)
    status.details.append(
        _pack(
            error_details_pb2.ErrorInfo(
                reason=error.reason, domain=ERROR_DOMAIN, metadata=error.metadata
            )
        )
    )
    if isinstance(error, errors.InvalidArgument) and error.violations:
        status.details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(
                            field=v.field, description=v.description
                        )
                        for v in error.violations
                    ]
                )
            )
        )
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after is not None:
        whole = max(1, math.ceil(retry_after))
        status.details.append(
            _pack(error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=whole)))
        )
    return status


def to_status(error: errors.DomainError) -> grpc.Status:
    """The grpc.Status that `context.abort_with_status` sends (details in trailers)."""
    return rpc_status.to_status(to_rpc_status(error))  # type: ignore[no-any-return]


def from_exception(exc: BaseException) -> errors.DomainError | None:
    """A domain error for infrastructure failures callers can act on (retry later)."""
    # Imported here, not at the top: the gateway and the MCP server use this table but have
    # no database, and SQLAlchemy would cost each of them ~0.2 s of CPU at start. Only the
    # gRPC services call this, and they have SQLAlchemy loaded long before any call.
    from services.servicekit.database import is_unavailable_error

    if is_unavailable_error(exc):
        return errors.Unavailable(
            "the database is unavailable; retry shortly",
            reason="DATABASE_UNAVAILABLE",
            retry_after_seconds=1,
        )
    return None


def internal_status(message: str = "internal error") -> grpc.Status:
    """A bare INTERNAL status for unexpected failures; the message reveals nothing."""
    status = status_pb2.Status(code=code_pb2.INTERNAL, message=message)
    status.details.append(
        _pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=ERROR_DOMAIN))
    )
    return rpc_status.to_status(status)  # type: ignore[no-any-return]
