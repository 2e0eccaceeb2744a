"""Any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM) through the openai SDK's chat completions.

Retries: `max_retries` is small, and a 429 is never retried inside a turn. The SDK would
otherwise sleep for the server's Retry-After (up to two minutes) while the turn's
deadline runs out; instead the caller gets RESOURCE_EXHAUSTED with that delay at once.
The SDK honours the `x-should-retry` response header, so a response hook sets it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from openai.types import CompletionUsage
from openai.types.chat import (
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
)

from services.chat.llm import failures
from services.chat.llm.base import (
    ModelStep,
    TextSink,
    ToolCallRequest,
    ToolOutcome,
    TurnInput,
    Usage,
)
from services.chat.llm.transcript import NO_ANSWER_TEXT, opening_transcript
from services.servicekit.errors import DomainError

_log = logging.getLogger(__name__)

PROVIDER = "openai"
_QUOTA_CODES = {"rate_limit_exceeded", "insufficient_quota"}


async def _quota_is_final(response: httpx2.Response) -> None:
    if response.status_code == 429:
        response.headers["x-should-retry"] = "false"


class OpenAIProvider:
    """One AsyncOpenAI client shared by every turn; sessions hold only their messages."""

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: str | None,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 30.0,
        max_retries: int = 1,
        temperature: float | None = None,
    ) -> None:
        self.model = model
        self._http = openai.DefaultAsyncHttpxClient(event_hooks={"response": [_quota_is_final]})
        self._client = openai.AsyncOpenAI(
            # Local servers (Ollama, vLLM) ignore the key, but the SDK insists on one.
            api_key=api_key or "not-needed",
            base_url=base_url,
            timeout=timeout_seconds,
            max_retries=max_retries,
            http_client=self._http,
        )
        # Unset by default: several current models reject any temperature but their own.
        self._temperature = temperature

    def open_session(self, turn: TurnInput) -> OpenAISession:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": turn.system_prompt}
        ]
        for line in opening_transcript(turn):
            if line.role == "user":
                messages.append({"role": "user", "content": line.text})
            else:
                messages.append({"role": "assistant", "content": line.text})
        tools: list[ChatCompletionFunctionToolParam] = [
            {
                "type": "function",
                "function": {
                    "name": spec.name,
                    "description": spec.description,
                    "parameters": spec.parameters,
                },
            }
            for spec in turn.tools
        ]
        return OpenAISession(self._client, self.model, messages, tools, self._temperature)

    async def aclose(self) -> None:
        await self._client.close()
        await self._http.aclose()


@dataclass
class _CallDraft:
    """A tool call as it is assembled from streamed fragments."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAISession:
    """The native transcript of one turn: chat messages, assistant tool calls echoed back."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        model: str,
        messages: list[ChatCompletionMessageParam],
        tools: list[ChatCompletionFunctionToolParam],
        temperature: float | None,
    ) -> None:
        self._client = client
        self._model = model
        self._messages = messages
        self._tools = tools
        self._temperature = temperature
        self._pending: list[ToolCallRequest] = []
        self._steps = 0

    def _request(self, timeout_seconds: float) -> dict[str, Any]:
        # create() runs its arguments through the SDK's TypedDict transform, which tries
        # every message against each of the six message types: about 0.3 ms of CPU per
        # message, more than the HTTP exchange itself, on every step of every turn (see
        # bench/README.md, chat_turns). Our messages and tools have nothing it would change
        # (no aliased, date or file fields), so they ride in `extra_body`, which the SDK
        # merges into the JSON body as given, replacing the empty `messages`.
        body: dict[str, Any] = {"messages": self._messages}
        if self._tools:
            body["tools"] = self._tools
            body["tool_choice"] = "auto"
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [],
            "timeout": timeout_seconds,
            "extra_body": body,
        }
        if self._temperature is not None:
            request["temperature"] = self._temperature
        return request

    async def next_step(
        self, *, timeout_seconds: float, on_text: TextSink | None = None
    ) -> ModelStep:
        try:
            if on_text is None:
                return await self._complete(timeout_seconds)
            return await self._stream(timeout_seconds, on_text)
        except openai.APITimeoutError as exc:  # before APIConnectionError: it is a subclass
            _log.warning("openai call timed out after %.1fs", timeout_seconds)
            raise failures.timed_out(PROVIDER) from exc
        except openai.APIConnectionError as exc:
            _log.warning("openai connection error: %s", exc.message)
            raise failures.unavailable(PROVIDER) from exc
        except openai.APIStatusError as exc:
            raise _map_status_error(exc, self._model) from exc
        except openai.APIError as exc:
            _log.warning("openai error in stream: %s (code %s)", exc.message, exc.code)
            if exc.code in _QUOTA_CODES:
                raise failures.quota_exhausted(PROVIDER, None) from exc
            raise failures.unavailable(PROVIDER) from exc
        except (httpx2.TimeoutException, TimeoutError) as exc:
            _log.warning("openai stream timed out after %.1fs", timeout_seconds)
            raise failures.timed_out(PROVIDER) from exc
        except httpx2.TransportError as exc:
            _log.warning("openai stream broke: %s", type(exc).__name__)
            raise failures.unavailable(PROVIDER) from exc

    async def _complete(self, timeout_seconds: float) -> ModelStep:
        response = await self._client.chat.completions.create(**self._request(timeout_seconds))
        drafts: list[_CallDraft] = []
        text = ""
        if response.choices:
            message = response.choices[0].message
            text = message.content or ""
            for call in message.tool_calls or ():
                if call.type == "function":
                    drafts.append(
                        _CallDraft(call.id, call.function.name, [call.function.arguments])
                    )
        return self._accept(text, drafts, response.usage)

    async def _stream(self, timeout_seconds: float, on_text: TextSink) -> ModelStep:
        texts: list[str] = []
        drafts: dict[int, _CallDraft] = {}
        usage: CompletionUsage | None = None
        stream = await self._client.chat.completions.create(
            **self._request(timeout_seconds),
            stream=True,
            stream_options={"include_usage": True},
        )
        async with stream:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    delta = choice.delta
                    if delta.content:
                        texts.append(delta.content)
                        await on_text(delta.content)
                    for fragment in delta.tool_calls or ():
                        draft = drafts.setdefault(fragment.index, _CallDraft())
                        if fragment.id:
                            draft.id = fragment.id
                        if fragment.function is not None:
                            if fragment.function.name and not draft.name:
                                draft.name = fragment.function.name
                            if fragment.function.arguments:
                                draft.arguments.append(fragment.function.arguments)
        step = self._accept("".join(texts), [drafts[i] for i in sorted(drafts)], usage)
        if step.text and not texts:
            await on_text(step.text)  # the no-answer fallback still reaches the stream
        return step

    def _accept(
        self, text: str, drafts: list[_CallDraft], usage: CompletionUsage | None
    ) -> ModelStep:
        self._steps += 1
        calls: list[ToolCallRequest] = []
        echoed: list[ChatCompletionMessageFunctionToolCallParam] = []
        for index, draft in enumerate(drafts):
            # Some compatible servers omit ids; the echo and the tool message must agree.
            call_id = draft.id or f"call_{self._steps}_{index}"
            raw = "".join(draft.arguments)
            calls.append(ToolCallRequest(call_id, draft.name, _arguments(raw, draft.name)))
            echoed.append(
                {
                    "id": call_id,
                    "type": "function",
                    "function": {"name": draft.name, "arguments": raw or "{}"},
                }
            )
        if echoed:
            self._messages.append(
                {"role": "assistant", "content": text or None, "tool_calls": echoed}
            )
        elif text:
            self._messages.append({"role": "assistant", "content": text})
        self._pending = calls
        if not calls and not text:
            _log.warning("openai returned neither text nor tool calls")
            text = NO_ANSWER_TEXT
        return ModelStep(text=text, tool_calls=tuple(calls), usage=_usage(usage))

    def add_tool_outcomes(self, outcomes: Sequence[ToolOutcome]) -> None:
        by_id = {o.call.id: o for o in outcomes}
        # Every tool call of the assistant message needs an answer, or the API rejects the turn.
        for call in self._pending:
            outcome = by_id.get(call.id)
            if outcome is None:
                payload: Any = {"error": "not executed"}
            elif outcome.ok:
                payload = outcome.result
            else:
                payload = {"error": outcome.result}
            self._messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": json.dumps(payload, ensure_ascii=False, default=str),
                }
            )
        self._pending = []


def _arguments(raw: str, name: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        # TaskService validation then reports the missing fields back to the model.
        _log.warning("openai sent unparseable arguments for %s", name)
        return {}
    return parsed


def _usage(usage: CompletionUsage | None) -> Usage | None:
    if usage is None:
        return None
    return Usage(
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
    )


def _map_status_error(exc: openai.APIStatusError, model: str) -> DomainError:
    status = exc.status_code
    if status in (401, 403):
        # Never log a provider's words about a key: OpenAI quotes part of it.
        _log.error("openai rejected the API key (%s, code %s)", status, exc.code)
        return failures.misconfigured(PROVIDER, "the API key was rejected; check OPENAI_API_KEY")
    _log.warning("openai error %s: %s (code %s)", status, exc.message, exc.code)
    if status == 429:
        return failures.quota_exhausted(
            PROVIDER, failures.retry_after_from_headers(exc.response.headers)
        )
    if status == 408:
        return failures.timed_out(PROVIDER)
    if status >= 500:
        return failures.unavailable(PROVIDER)
    if status == 404:
        return failures.misconfigured(
            PROVIDER, f"model {model!r} was not found; check OPENAI_MODEL and OPENAI_BASE_URL"
        )
    return failures.misconfigured(
        PROVIDER, f"the request was rejected ({status}); see the chat service log"
    )
