"""Idempotent mutations (AIP-155): a repeated `request_id` returns the first result.

The record is written in the same transaction as the change it describes, so a
crash can never leave a change without its record or a record without its change.
Two concurrent requests with one key race on the record's primary key; the loser
rolls back and returns the winner's result.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.servicekit.database import SessionFactory
from services.servicekit.errors import FieldViolation, InvalidArgument
from services.tasks import repository
from services.tasks.domain import Priority, Task

Mutation = Callable[[AsyncSession], Awaitable[Task | None]]


def _encode(task: Task | None) -> str:
    if task is None:
        return "null"
    data: dict[str, Any] = dict(task.__dict__)
    data["priority"] = int(task.priority)
    data["tags"] = list(task.tags)
    for key in ("due_time", "created_at", "updated_at", "completed_at"):
        value = data[key]
        data[key] = value.isoformat() if value is not None else None
    return json.dumps(data)


def _decode(text: str) -> Task | None:
    data = json.loads(text)
    if data is None:
        return None
    for key in ("due_time", "created_at", "updated_at", "completed_at"):
        if data[key] is not None:
            data[key] = datetime.fromisoformat(data[key])
    data["priority"] = Priority(data["priority"])
    data["tags"] = tuple(data["tags"])
    return Task(**data)


def _replay(
    user_id: str, request_id: str, method: str, fingerprint: str, prior: tuple[str, str, str]
) -> Task | None:
    prior_method, prior_fingerprint, result = prior
    if prior_method != method or prior_fingerprint != fingerprint:
        raise InvalidArgument(
            [FieldViolation("request_id", "already used for a different request")]
        )
    return _decode(result)


async def run_once(
    sessions: SessionFactory,
    *,
    user_id: str,
    request_id: str,
    method: str,
    fingerprint: str,
    now: datetime,
    mutate: Mutation,
) -> Task | None:
    """Runs `mutate` in a transaction unless this request already ran; returns its result.

    `mutate` returns the resulting task (None for a delete) or raises a domain error,
    in which case nothing is recorded and a retry runs again.
    """
    if not request_id:
        async with sessions.begin() as session:
            return await mutate(session)
    try:
        async with sessions.begin() as session:
            prior = await repository.find_request(session, user_id, request_id)
            if prior is not None:
                return _replay(user_id, request_id, method, fingerprint, prior)
            result = await mutate(session)
            await repository.record_request(
                session, user_id, request_id, method, fingerprint, _encode(result), now
            )
            return result
    except IntegrityError:
        async with sessions() as session:
            prior = await repository.find_request(session, user_id, request_id)
        if prior is None:
            raise
        return _replay(user_id, request_id, method, fingerprint, prior)
