"""Settings.from_env for the MCP server: its port, TaskService target and tool timeout."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.servicekit.config import ConfigError, McpSettings, Settings


def test_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"TODOCHAT_VAR_DIR": str(tmp_path)})
    assert settings.mcp == McpSettings(
        host="127.0.0.1", port=8765, tasks_target="127.0.0.1:50052", tool_timeout_seconds=30.0
    )


def test_overrides_follow_the_shared_variables(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "TODOCHAT_VAR_DIR": str(tmp_path),
            "BIND_HOST": "10.0.0.7",
            "MCP_PORT": "0",
            "TASKS_TARGET": "dns:///tasks:50052",
            "MCP_TOOL_TIMEOUT_SECONDS": "5",
        }
    )
    assert settings.mcp == McpSettings(
        host="10.0.0.7", port=0, tasks_target="dns:///tasks:50052", tool_timeout_seconds=5.0
    )


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        pytest.param("MCP_PORT", "http", "MCP_PORT='http' is not an integer", id="port-text"),
        pytest.param("MCP_PORT", "70000", "MCP_PORT=70000 must be between", id="port-range"),
        pytest.param(
            "MCP_TOOL_TIMEOUT_SECONDS", "0", "MCP_TOOL_TIMEOUT_SECONDS=0.0 must be", id="timeout"
        ),
    ],
)
def test_bad_values_are_reported(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as bad:
        Settings.from_env({"TODOCHAT_VAR_DIR": str(tmp_path), name: value})
    assert any(says in problem for problem in bad.value.problems)
