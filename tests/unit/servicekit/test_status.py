"""The one domain-error → gRPC status table, with its google.rpc details."""

from __future__ import annotations

import pytest
from google.rpc import code_pb2, error_details_pb2
from sqlalchemy.exc import OperationalError

from services.servicekit import errors, status


def _details(rpc: object) -> dict[str, object]:
    found: dict[str, object] = {}
    for any_detail in rpc.details:  # type: ignore[attr-defined]
        for kind in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.RetryInfo,
        ):
            if any_detail.Is(kind.DESCRIPTOR):
                message = kind()
                any_detail.Unpack(message)
                assert kind.__name__ not in found, "at most one detail of each type (AIP-193)"
                found[kind.__name__] = message
    return found


@pytest.mark.parametrize(
    ("error", "code"),
    [
        pytest.param(
            errors.InvalidArgument([errors.FieldViolation("title", "empty")]),
            code_pb2.INVALID_ARGUMENT,
            id="invalid-argument",
        ),
        pytest.param(
            errors.Unauthenticated("no token"), code_pb2.UNAUTHENTICATED, id="unauthenticated"
        ),
        pytest.param(
            errors.PermissionDenied("not yours"), code_pb2.PERMISSION_DENIED, id="permission-denied"
        ),
        pytest.param(errors.NotFound("gone"), code_pb2.NOT_FOUND, id="not-found"),
        pytest.param(
            errors.FailedPrecondition("bad key"),
            code_pb2.FAILED_PRECONDITION,
            id="failed-precondition",
        ),
        pytest.param(errors.Aborted("raced"), code_pb2.ABORTED, id="aborted"),
        pytest.param(
            errors.ResourceExhausted("slow down", retry_after_seconds=2.2),
            code_pb2.RESOURCE_EXHAUSTED,
            id="resource-exhausted",
        ),
        pytest.param(errors.Unavailable("down"), code_pb2.UNAVAILABLE, id="unavailable"),
        pytest.param(
            errors.DeadlineExceeded("late"), code_pb2.DEADLINE_EXCEEDED, id="deadline-exceeded"
        ),
        pytest.param(errors.DomainError("odd"), code_pb2.INTERNAL, id="unmapped-is-internal"),
    ],
)
def test_each_error_maps_to_one_code_with_one_error_info(
    error: errors.DomainError, code: int
) -> None:
    rpc = status.to_rpc_status(error)
    assert rpc.code == code
    assert rpc.message == error.message
    info = _details(rpc)["ErrorInfo"]
    assert info.reason == error.reason  # type: ignore[attr-defined]
    assert info.domain == status.ERROR_DOMAIN  # type: ignore[attr-defined]


def test_bad_request_and_retry_info_details() -> None:
    rpc = status.to_rpc_status(
        errors.InvalidArgument(
            [errors.FieldViolation("title", "empty"), errors.FieldViolation("tags[1]", "bad")]
        )
    )
    bad = _details(rpc)["BadRequest"]
    assert [(v.field, v.description) for v in bad.field_violations] == [
        ("title", "empty"),
        ("tags[1]", "bad"),
    ]  # type: ignore[attr-defined]
    retry = _details(status.to_rpc_status(errors.ResourceExhausted("x", retry_after_seconds=2.2)))[
        "RetryInfo"
    ]
    assert retry.retry_delay.seconds == 3  # type: ignore[attr-defined]


def test_database_outage_becomes_unavailable_and_bugs_do_not() -> None:
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))
    mapped = status.from_exception(outage)
    assert isinstance(mapped, errors.Unavailable)
    assert status.from_exception(KeyError("bug")) is None
    internal = status.internal_status()
    assert "KeyError" not in internal.details
