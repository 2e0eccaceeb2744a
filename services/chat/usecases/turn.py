"""One chat turn, as design.md describes it.

Three short transactions around the model, never one held open across it:
  1. begin: idempotency record, rate limit, conversation, the user's message, history;
  2. (no transaction) the agent loop: model ↔ TaskService as the user;
  3. finish: the assistant message with its tool-call records, and the turn marked done.
A turn that fails after (1) keeps the user's message and is marked failed, so a retry with
the same request_id resumes it (without storing the message again) and its tool calls
reuse the first attempt's idempotency keys. A running attempt renews its claim on the turn
every second or so; when its process dies (SIGKILL, OOM, a lost node) the claim lapses
within a few seconds and a retry on any replica takes the turn over, and an attempt that
lost its claim stores nothing. The rate limit is counted in (1) before the
message is stored, so a refused turn leaves nothing behind and is not counted.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.chat import repository, turn_repository
from services.chat.agent.executor import ToolExecutor
from services.chat.agent.loop import AgentEvents, AgentLimits, run_agent
from services.chat.agent.prompt import build_system_prompt
from services.chat.domain import (
    ChatAnswer,
    Deadline,
    Message,
    Role,
    TurnRecord,
    TurnRequest,
    TurnStatus,
    title_from,
)
from services.chat.llm.base import HistoryMessage, TurnInput
from services.chat.tasks_client import Caller
from services.chat.usecases.deps import ChatDeps
from services.chat.usecases.errors import conversation_not_found
from services.servicekit.auth import Principal
from services.servicekit.errors import (
    Aborted,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
)
from services.servicekit.fingerprint import fingerprint
from services.servicekit.logging import current_request_id

_log = logging.getLogger("todochat.chat.turn")


@dataclass(frozen=True)
class _Begun:
    conversation_id: str
    history: list[Message]
    attempt: int  # which attempt holds the turn (the turn record's `attempts`)


def _deadline(turn_timeout: float, rpc_remaining: float | None) -> Deadline:
    budget = turn_timeout
    if rpc_remaining is not None:
        # Keep a moment of the caller's deadline to store the answer.
        budget = min(budget, rpc_remaining - min(0.5, rpc_remaining * 0.1))
    return Deadline.within(budget)


async def run_turn(
    deps: ChatDeps,
    principal: Principal,
    request: TurnRequest,
    *,
    rpc_time_remaining: float | None = None,
    events: AgentEvents | None = None,
) -> ChatAnswer:
    """Runs the turn and returns the stored answer (or the stored answer of its first run)."""
    user_id = principal.user_id
    deadline = _deadline(deps.limits.turn_timeout_seconds, rpc_time_remaining)
    # Without a key the turn cannot be retried, but its tool calls still need unique keys.
    request_id = request.request_id or f"auto-{deps.new_id()}"
    key = fingerprint(request.content, request.conversation_id or "", request.context or "")
    begun = await _begin(deps, user_id, request_id, key, request)
    if isinstance(begun, ChatAnswer):
        return begun
    renewer = asyncio.create_task(_keep_claim(deps, user_id, request_id, begun.attempt))
    try:
        return await _answer(deps, principal, request, request_id, begun, deadline, events)
    except BaseException:
        # Also on cancellation (client gone, deadline): record the failure so a retry can
        # resume at once instead of waiting for this attempt's claim to go stale.
        await asyncio.shield(
            asyncio.ensure_future(_mark_failed(deps, user_id, request_id, begun.attempt))
        )
        raise
    finally:
        renewer.cancel()


async def _begin(
    deps: ChatDeps, user_id: str, request_id: str, key: str, request: TurnRequest
) -> ChatAnswer | _Begun:
    now = deps.clock()
    try:
        async with deps.sessions.begin() as session:
            prior = await turn_repository.find_turn(session, user_id, request_id)
            if prior is not None:
                return await _resume(deps, session, user_id, prior, key, now)
            await _count_turn(deps, session, user_id, now)
            conversation_id = request.conversation_id
            if conversation_id is None:
                conversation_id = deps.new_id()
                await repository.insert_conversation(
                    session, user_id, conversation_id, title_from(request.content), now
                )
            message = await repository.append_message(
                session,
                user_id,
                conversation_id,
                message_id=deps.new_id(),
                role=Role.USER,
                content=request.content,
                tool_calls=(),
                now=now,
            )
            if message is None:
                raise conversation_not_found(conversation_id)
            await turn_repository.insert_turn(
                session,
                user_id,
                request_id,
                fingerprint=key,
                conversation_id=conversation_id,
                user_message_id=message.id,
                now=now,
            )
            history = await repository.last_messages(
                session, user_id, conversation_id, deps.limits.history_limit
            )
            return _Begun(conversation_id, history, attempt=1)
    except IntegrityError:
        # A concurrent attempt with the same request_id recorded the turn first.
        async with deps.read_sessions() as session:
            prior = await turn_repository.find_turn(session, user_id, request_id)
        if prior is None:
            raise
        _check_same_request(prior, key)
        if prior.status is TurnStatus.DONE and prior.answer is not None:
            return prior.answer
        raise _in_progress() from None


def _check_same_request(prior: TurnRecord, key: str) -> None:
    if prior.fingerprint != key:
        raise InvalidArgument(
            [FieldViolation("request_id", "already used for a different message")]
        )


def _in_progress() -> Aborted:
    return Aborted(
        "a turn with this request_id is still running; retry shortly",
        reason="TURN_IN_PROGRESS",
    )


async def _resume(
    deps: ChatDeps,
    session: AsyncSession,
    user_id: str,
    prior: TurnRecord,
    key: str,
    now: datetime,
) -> ChatAnswer | _Begun:
    _check_same_request(prior, key)
    if prior.status is TurnStatus.DONE and prior.answer is not None:
        return prior.answer
    # A running attempt that stopped renewing its claim has died with its process.
    stale_before = now - timedelta(seconds=deps.limits.claim_lease_seconds)
    attempt = await turn_repository.claim_turn(
        session, user_id, prior.request_id, now=now, stale_before=stale_before
    )
    if attempt is None:
        raise _in_progress()
    await _count_turn(deps, session, user_id, now)
    position = await repository.message_position(session, user_id, prior.user_message_id)
    if position is None:
        raise conversation_not_found(prior.conversation_id)
    history = await repository.last_messages(
        session,
        user_id,
        prior.conversation_id,
        deps.limits.history_limit,
        up_to_position=position,
    )
    _log.info("resuming turn", extra={"attempt": attempt})
    return _Begun(prior.conversation_id, history, attempt)


async def _keep_claim(deps: ChatDeps, user_id: str, request_id: str, attempt: int) -> None:
    """Renews the attempt's claim until cancelled, so that a retry elsewhere can tell a
    live attempt from a dead one; stops once another attempt has taken the turn."""
    # Half the lease: one late renewal (a slow database) still lands before the claim
    # goes stale, and turns shorter than this cost no renewal at all.
    interval = deps.limits.claim_lease_seconds / 2
    while True:
        await asyncio.sleep(interval)
        try:
            async with deps.sessions.begin() as session:
                held = await turn_repository.renew_claim(
                    session, user_id, request_id, attempt, deps.clock()
                )
        except Exception:  # the database is down: the turn itself will fail or recover
            _log.warning("could not renew the turn's claim", exc_info=True)
            continue
        if not held:
            return


async def _count_turn(deps: ChatDeps, session: AsyncSession, user_id: str, now: datetime) -> None:
    limit = deps.limits.rate_limit_per_minute
    if limit <= 0:
        return
    window = now.replace(second=0, microsecond=0)
    count = await turn_repository.count_turn(session, user_id, window)
    if count > limit:
        # Raising rolls the transaction back: a refused turn is neither stored nor counted.
        wait = 60.0 - (now - window).total_seconds()
        raise ResourceExhausted(
            f"at most {limit} messages a minute; try again in {max(1, round(wait))} seconds",
            retry_after_seconds=wait,
            reason="CHAT_RATE_LIMITED",
            metadata={"limit_per_minute": str(limit)},
        )


def _history_role(role: Role) -> Literal["user", "assistant"]:
    return "user" if role is Role.USER else "assistant"


async def _answer(
    deps: ChatDeps,
    principal: Principal,
    request: TurnRequest,
    request_id: str,
    begun: _Begun,
    deadline: Deadline,
    events: AgentEvents | None,
) -> ChatAnswer:
    user_id = principal.user_id
    turn = TurnInput(
        system_prompt=build_system_prompt(deps.system_prompt, deps.clock()),
        history=[HistoryMessage(_history_role(m.role), m.content) for m in begun.history],
        tools=deps.tools,
        context=request.context,
        metadata={"conversation_id": begun.conversation_id, "request_id": request_id},
    )
    caller = Caller(
        token=principal.token, trace_id=current_request_id() or request_id, deadline=deadline
    )
    result = await run_agent(
        deps.provider.open_session(turn),
        ToolExecutor(deps.tasks, deps.tools, caller, request_id),
        deadline=deadline,
        limits=AgentLimits(deps.limits.max_tool_steps, deps.limits.llm_timeout_seconds),
        events=events,
        observer=deps.observer,
    )
    now = deps.clock()
    async with deps.sessions.begin() as session:
        message = await repository.append_message(
            session,
            user_id,
            begun.conversation_id,
            message_id=deps.new_id(),
            role=Role.ASSISTANT,
            content=result.text,
            tool_calls=result.tool_calls,
            now=now,
        )
        if message is None:  # deleted while the turn ran
            raise conversation_not_found(begun.conversation_id)
        answer = ChatAnswer(
            conversation_id=begun.conversation_id,
            message_id=message.id,
            content=message.content,
            created_at=now,
            tool_calls=result.tool_calls,
            request_id=request_id,
        )
        if not await turn_repository.finish_turn(
            session, user_id, request_id, begun.attempt, answer, now
        ):
            # This attempt looked dead and another one took the turn over: its answer
            # counts. Raising rolls back the message appended above.
            raise _in_progress()
    return answer


async def _mark_failed(deps: ChatDeps, user_id: str, request_id: str, attempt: int) -> None:
    try:
        async with deps.sessions.begin() as session:
            await turn_repository.fail_turn(session, user_id, request_id, attempt, deps.clock())
    except Exception:  # the claim goes stale on its own; the caller's error matters more
        _log.warning("could not mark the turn failed", exc_info=True)
