"""Domain errors: what went wrong, in words the use cases understand.

Use cases raise these; nothing below the RPC boundary knows about gRPC codes.
`servicekit.status` is the one place that turns them into a gRPC status.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field, named by its proto field path (`title`, `tags[2]`)."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a use case raises on purpose.

    `reason` is the UPPER_SNAKE ErrorInfo reason (AIP-193); `metadata` adds
    machine-readable context and must never hold secrets.
    """

    reason = "ERROR"

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(DomainError):
    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: list[FieldViolation], message: str | None = None) -> None:
        self.violations = list(violations)
        summary = message or "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(summary or "invalid request")


class Unauthenticated(DomainError):
    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    reason = "PERMISSION_DENIED"


class NotFound(DomainError):
    reason = "NOT_FOUND"


class FailedPrecondition(DomainError):
    reason = "FAILED_PRECONDITION"


class Aborted(DomainError):
    """A concurrent change won; the caller may retry."""

    reason = "ABORTED"


class ResourceExhausted(DomainError):
    reason = "RESOURCE_EXHAUSTED"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds


class Unavailable(DomainError):
    reason = "UNAVAILABLE"

    def __init__(
        self,
        message: str,
        *,
        retry_after_seconds: float | None = None,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds


class DeadlineExceeded(DomainError):
    reason = "DEADLINE_EXCEEDED"


@dataclass
class Violations:
    """Collects field violations so a request reports every bad field at once."""

    items: list[FieldViolation] = field(default_factory=list)

    def add(self, field_path: str, description: str) -> None:
        self.items.append(FieldViolation(field_path, description))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)
