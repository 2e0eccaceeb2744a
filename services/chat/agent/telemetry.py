"""The agent loop's observations as Prometheus metrics (model calls, tokens, tool calls)."""

from __future__ import annotations

from collections.abc import Iterable

from services.chat.llm.base import Usage
from services.servicekit.metrics import Metrics


class AgentMetrics:
    """An `AgentObserver` that counts into the process's metrics registry."""

    def __init__(self, metrics: Metrics, provider: str, tool_names: Iterable[str]) -> None:
        self._metrics = metrics
        self._provider = provider
        self._tools = frozenset(tool_names)

    def model_step(self, outcome: str, seconds: float, usage: Usage | None) -> None:
        self._metrics.llm_calls.labels(self._provider, outcome).inc()
        self._metrics.llm_latency.labels(self._provider).observe(seconds)
        if usage is not None:
            tokens = self._metrics.llm_tokens
            tokens.labels(self._provider, "prompt").inc(usage.prompt_tokens)
            tokens.labels(self._provider, "completion").inc(usage.completion_tokens)

    def tool_call(self, name: str, outcome: str) -> None:
        # The name comes from the model: label only known tools, so it cannot grow the series.
        label = name if name in self._tools else "unknown"
        self._metrics.tool_calls.labels(label, outcome).inc()
