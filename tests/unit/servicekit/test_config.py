"""Settings.from_env: defaults, casting, and one clear message per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.servicekit.config import ConfigError, Settings

SECRET = "x" * 32


def _env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"TODOCHAT_VAR_DIR": str(tmp_path), **values}


def test_defaults_run_locally_with_a_generated_dev_secret(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path))
    assert settings.tasks.server.port == 50052
    assert settings.chat.server.port == 50051
    assert settings.gateway.port == 8080
    assert settings.tasks.database_url == f"sqlite+aiosqlite:///{tmp_path / 'tasks.db'}"
    assert settings.chat.database_url == f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    assert settings.chat.tasks_target == "127.0.0.1:50052"
    assert (settings.chat.history_limit, settings.chat.max_tool_steps) == (20, 5)
    assert settings.chat.rate_limit_per_minute == 10
    assert settings.chat.llm.timeout_seconds == 30
    assert settings.chat.llm.provider == "auto"
    assert settings.gateway.cors_origins == ("http://localhost:3000",)
    secret_file = tmp_path / "dev-jwt-secret"
    assert settings.jwt.secret == secret_file.read_text().strip()
    assert len(settings.jwt.secret.encode()) >= 32
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert Settings.from_env(_env(tmp_path)).jwt.secret == settings.jwt.secret, "kept across runs"
    assert settings.jwt.algorithms == ("HS256",)


def test_urls_and_per_service_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env(
        _env(
            tmp_path,
            DATABASE_URL="postgres://u:p@db:5432/app",
            CHAT_DATABASE_URL="postgresql://u:p@chatdb/chat",
            JWT_SECRET=SECRET,
        )
    )
    assert settings.tasks.database_url == "postgresql+asyncpg://u:p@db:5432/app"
    assert settings.chat.database_url == "postgresql+asyncpg://u:p@chatdb/chat"
    assert "p@" not in repr(settings.jwt)
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        pytest.param(
            {"TASKS_PORT": "http"}, "TASKS_PORT='http' is not an integer", id="port-not-int"
        ),
        pytest.param(
            {"CHAT_PORT": "70000"}, "CHAT_PORT=70000 must be between 0 and 65535", id="port-range"
        ),
        pytest.param({"CHAT_HISTORY_LIMIT": "0"}, "CHAT_HISTORY_LIMIT=0", id="history-limit"),
        pytest.param(
            {"LLM_TIMEOUT_SECONDS": "soon"},
            "LLM_TIMEOUT_SECONDS='soon' is not a number",
            id="timeout",
        ),
        pytest.param(
            {"LLM_PROVIDER": "claude"}, "LLM_PROVIDER='claude' must be one of", id="provider"
        ),
        pytest.param(
            {"LLM_PROVIDER": "gemini"},
            "LLM_PROVIDER=gemini needs GEMINI_API_KEY",
            id="gemini-without-key",
        ),
        pytest.param(
            {"JWT_SECRET": "short"}, "JWT_SECRET must be at least 32 bytes", id="short-secret"
        ),
        pytest.param(
            {"JWT_SECRET": SECRET, "JWT_ALGORITHMS": "RS256"},
            "JWT_SECRET works only with HS",
            id="secret-with-rs",
        ),
        pytest.param(
            {"JWT_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----x", "JWT_ALGORITHMS": "HS256"},
            "asymmetric",
            id="key-with-hs",
        ),
        pytest.param({"JWT_PUBLIC_KEY": "not pem"}, "must be PEM", id="key-not-pem"),
        pytest.param(
            {"JWT_SECRET": SECRET, "JWT_JWKS_URL": "https://x/jwks"},
            "set only one of",
            id="two-key-sources",
        ),
        pytest.param(
            {"JWT_JWKS_URL": "ftp://x"}, "JWT_JWKS_URL must be an http(s) URL", id="jwks-scheme"
        ),
        pytest.param({"JWT_ALGORITHMS": "HS1"}, "unsupported HS1", id="unknown-alg"),
        pytest.param(
            {"DATABASE_URL": "mysql://x/y"},
            "must be a postgresql:// or sqlite:// URL",
            id="db-scheme",
        ),
        pytest.param({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL='LOUD'", id="log-level"),
        pytest.param(
            {"METRICS_ENABLED": "maybe"}, "METRICS_ENABLED='maybe' is not a boolean", id="bool"
        ),
        pytest.param(
            {"SYSTEM_PROMPT_FILE": "/nonexistent/prompt.txt"},
            "SYSTEM_PROMPT_FILE",
            id="prompt-file",
        ),
    ],
)
def test_bad_values_are_reported(tmp_path: Path, values: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(_env(tmp_path, **values))
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(
            _env(tmp_path, TASKS_PORT="x", CHAT_PORT="-1", JWT_SECRET="tiny-secret-value")
        )
    assert len(caught.value.problems) == 3
    assert "tiny-secret-value" not in str(caught.value), "secret values are never echoed"


def test_system_prompt_from_file(tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("You are a terse bot.\n")
    settings = Settings.from_env(_env(tmp_path, SYSTEM_PROMPT_FILE=str(prompt)))
    assert settings.chat.system_prompt == "You are a terse bot."


def test_commands_without_tokens_create_no_dev_secret(tmp_path: Path) -> None:
    settings = Settings.from_env(_env(tmp_path), create_dev_secret=False)
    assert settings.jwt.secret is None
    assert not (tmp_path / "dev-jwt-secret").exists()
