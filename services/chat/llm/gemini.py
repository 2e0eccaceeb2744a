"""Gemini through google-genai: async, manual function calling, thought signatures kept.

Transport: we hand the SDK our own `httpx2.AsyncClient`. Without that, google-genai
switches to aiohttp whenever aiohttp happens to be importable, which changes the
exception types and adds a hidden 1-10 s retry on connection errors; pinning httpx2 keeps
the error mapping below exact no matter what else gets installed. aiohttp is therefore
not a dependency.

Retries: a small tenacity budget on 408/5xx and transport errors only. 429 is not retried
inside a turn: Gemini's quota windows outlast any turn, so the caller gets
RESOURCE_EXHAUSTED with the server's RetryInfo at once.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import httpx2
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

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

PROVIDER = "gemini"
API_VERSION = "v1beta"
_RETRY_STATUS_CODES = [408, 500, 502, 503, 504]
_RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo"
_BAD_KEY_REASONS = {"API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "API_KEY_HTTP_REFERRER_BLOCKED"}


class GeminiProvider:
    """One google-genai client shared by every turn; sessions hold only their transcript."""

    name = PROVIDER

    def __init__(
        self,
        *,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 30.0,
        retry_attempts: int = 2,
        retry_initial_delay: float = 0.5,
        retry_max_delay: float = 2.0,
        temperature: float = 0.2,
        max_output_tokens: int = 2048,
    ) -> None:
        self.model = model
        self._http = httpx2.AsyncClient(timeout=timeout_seconds)
        self._client = genai.Client(
            vertexai=False,  # never let GOOGLE_GENAI_USE_VERTEXAI in the environment decide
            api_key=api_key,
            http_options=types.HttpOptions(
                base_url=base_url,
                api_version=API_VERSION,
                timeout=_millis(timeout_seconds),
                retry_options=types.HttpRetryOptions(
                    attempts=retry_attempts,
                    initial_delay=retry_initial_delay,
                    max_delay=retry_max_delay,
                    jitter=retry_initial_delay / 2,
                    http_status_codes=_RETRY_STATUS_CODES,
                ),
                httpx_async_client=self._http,
            ),
        )
        self._temperature = temperature
        self._max_output_tokens = max_output_tokens

    def open_session(self, turn: TurnInput) -> GeminiSession:
        tools: types.ToolListUnion | None = None
        tool_config = None
        if turn.tools:
            tools = [
                types.Tool(
                    function_declarations=[
                        types.FunctionDeclaration(
                            name=spec.name,
                            description=spec.description,
                            parameters_json_schema=spec.parameters,
                        )
                        for spec in turn.tools
                    ]
                )
            ]
            tool_config = types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(
                    mode=types.FunctionCallingConfigMode.AUTO
                )
            )
        config = types.GenerateContentConfig(
            system_instruction=turn.system_prompt,
            tools=tools,
            tool_config=tool_config,
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
            temperature=self._temperature,
            max_output_tokens=self._max_output_tokens,
        )
        contents = [
            types.Content(
                role="user" if line.role == "user" else "model",
                parts=[types.Part.from_text(text=line.text)],
            )
            for line in opening_transcript(turn)
        ]
        return GeminiSession(self._client, self.model, config, contents)

    async def aclose(self) -> None:
        await self._client.aio.aclose()
        self._client.close()
        await self._http.aclose()


class GeminiSession:
    """The native transcript of one turn: `Content`s appended verbatim, signatures and all."""

    def __init__(
        self,
        client: genai.Client,
        model: str,
        config: types.GenerateContentConfig,
        contents: list[types.Content],
    ) -> None:
        self._client = client
        self._model = model
        self._config = config
        self._contents = contents
        self._pending: list[tuple[ToolCallRequest, str | None]] = []
        self._steps = 0

    async def next_step(
        self, *, timeout_seconds: float, on_text: TextSink | None = None
    ) -> ModelStep:
        config = self._config.model_copy(
            update={"http_options": types.HttpOptions(timeout=_millis(timeout_seconds))}
        )
        try:
            if on_text is None:
                response = await self._client.aio.models.generate_content(
                    model=self._model, contents=self._contents, config=config
                )
                return await self._accept(_model_content(response), response.usage_metadata, None)
            return await self._stream(config, on_text)
        except genai_errors.APIError as exc:
            raise _map_api_error(exc, self._model) from exc
        except (httpx2.TimeoutException, TimeoutError) as exc:
            _log.warning("gemini call timed out after %.1fs", timeout_seconds)
            raise failures.timed_out(PROVIDER) from exc
        except httpx2.TransportError as exc:
            _log.warning("gemini transport error: %s", type(exc).__name__)
            raise failures.unavailable(PROVIDER) from exc

    async def _stream(self, config: types.GenerateContentConfig, on_text: TextSink) -> ModelStep:
        parts: list[types.Part] = []
        usage: types.GenerateContentResponseUsageMetadata | None = None
        stream = await self._client.aio.models.generate_content_stream(
            model=self._model, contents=self._contents, config=config
        )
        try:
            async for chunk in stream:
                if chunk.usage_metadata is not None:
                    usage = chunk.usage_metadata  # the last one carries the totals
                content = _model_content(chunk)
                for part in (content.parts or []) if content is not None else []:
                    parts.append(part)
                    if part.text and not part.thought:
                        await on_text(part.text)
        finally:
            closer = getattr(stream, "aclose", None)
            if closer is not None:
                await closer()
        return await self._accept(types.Content(role="model", parts=parts), usage, on_text)

    async def _accept(
        self,
        content: types.Content | None,
        usage: types.GenerateContentResponseUsageMetadata | None,
        on_text: TextSink | None,
    ) -> ModelStep:
        self._steps += 1
        parts = list(content.parts or ()) if content is not None else []
        text = "".join(p.text for p in parts if p.text and not p.thought)
        calls: list[tuple[ToolCallRequest, str | None]] = []
        for index, part in enumerate(p for p in parts if p.function_call is not None):
            call = part.function_call
            assert call is not None
            synthesized = f"gemini-{self._steps}-{index}"
            calls.append(
                (
                    ToolCallRequest(
                        id=call.id or synthesized,
                        name=call.name or "",
                        arguments=dict(call.args or {}),
                    ),
                    call.id,
                )
            )
        if parts:
            # Verbatim, so thought signatures go back exactly as they came.
            self._contents.append(types.Content(role="model", parts=parts))
        if not calls and not text:
            _log.warning("gemini returned neither text nor function calls")
            text = NO_ANSWER_TEXT
            if on_text is not None:
                await on_text(text)
        self._pending = calls
        return ModelStep(text=text, tool_calls=tuple(c for c, _ in calls), usage=_usage(usage))

    def add_tool_outcomes(self, outcomes: Sequence[ToolOutcome]) -> None:
        by_id = {o.call.id: o for o in outcomes}
        parts: list[types.Part] = []
        # Gemini wants one response per call of the previous turn, in order.
        for call, native_id in self._pending:
            outcome = by_id.get(call.id)
            if outcome is None:
                payload: dict[str, Any] = {"error": "not executed"}
            elif outcome.ok:
                payload = {"result": outcome.result}
            else:
                payload = {"error": outcome.result}
            parts.append(
                types.Part(
                    function_response=types.FunctionResponse(
                        id=native_id, name=call.name, response=payload
                    )
                )
            )
        if parts:
            self._contents.append(types.Content(role="user", parts=parts))
        self._pending = []


def _millis(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


def _model_content(response: types.GenerateContentResponse) -> types.Content | None:
    if not response.candidates:
        return None
    return response.candidates[0].content


def _usage(meta: types.GenerateContentResponseUsageMetadata | None) -> Usage | None:
    if meta is None:
        return None
    completion = (meta.candidates_token_count or 0) + (meta.thoughts_token_count or 0)
    prompt = meta.prompt_token_count or 0
    return Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=meta.total_token_count or prompt + completion,
    )


def _error_details(exc: genai_errors.APIError) -> list[Mapping[str, Any]]:
    body = exc.details
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        items = inner.get("details") if isinstance(inner, Mapping) else None
        if isinstance(items, list):
            return [item for item in items if isinstance(item, Mapping)]
    return []


def _map_api_error(exc: genai_errors.APIError, model: str) -> DomainError:
    code = exc.code if isinstance(exc.code, int) else 0
    status = exc.status or ""
    details = _error_details(exc)
    reasons = {str(d.get("reason")) for d in details if d.get("@type") == _ERROR_INFO_TYPE}
    if reasons & _BAD_KEY_REASONS or code in (401, 403):
        # Never log a provider's words about a key: some quote part of it.
        _log.error("gemini rejected the API key (%s %s)", code, status)
        return failures.misconfigured(PROVIDER, "the API key was rejected; check GEMINI_API_KEY")
    _log.warning("gemini error %s %s: %s", code, status, exc.message)
    if code == 429 or status == "RESOURCE_EXHAUSTED":
        delay = next(
            (
                failures.parse_duration(d.get("retryDelay"))
                for d in details
                if d.get("@type") == _RETRY_INFO_TYPE
            ),
            None,
        )
        if delay is None:
            headers = getattr(exc.response, "headers", None)
            delay = failures.retry_after_from_headers(
                headers if isinstance(headers, Mapping) else None
            )
        return failures.quota_exhausted(PROVIDER, delay)
    if code in (408, 504) or status == "DEADLINE_EXCEEDED":
        return failures.timed_out(PROVIDER)
    if code >= 500 or code == 0:
        return failures.unavailable(PROVIDER)
    if code == 404:
        return failures.misconfigured(
            PROVIDER, f"model {model!r} was not found; check GEMINI_MODEL and GEMINI_BASE_URL"
        )
    return failures.misconfigured(
        PROVIDER, f"the request was rejected ({code} {status}); see the chat service log"
    )
