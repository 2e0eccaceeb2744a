"""Typed settings, read once from an environment mapping at start-up.

This is the only module that knows environment variable names. `Settings.from_env`
collects every problem before failing, so an operator fixes a bad deployment in one
round instead of one variable at a time.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

_T = TypeVar("_T")

DEFAULT_VAR_DIR = Path("var")
_MIN_HS_SECRET_BYTES = 32
_ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
_HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
LLM_PROVIDERS = ("auto", "gemini", "openai", "offline")


class ConfigError(ValueError):
    """One or more settings are invalid; `problems` holds one line per bad value."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class JwtSettings:
    """How bearer tokens are verified (and, for local use, signed)."""

    algorithms: tuple[str, ...]
    secret: str | None = field(default=None, repr=False)
    public_key: str | None = field(default=None, repr=False)
    jwks_url: str | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: int = 30
    # Where the secret came from, for honest start-up logs; never the secret itself.
    source: str = "environment"


@dataclass(frozen=True)
class ServerSettings:
    """Listening and lifecycle knobs shared by every gRPC service."""

    host: str
    port: int
    grace_seconds: float = 10.0
    max_message_bytes: int = 4 * 1024 * 1024
    # Prometheus /metrics on its own port; None turns it off.
    metrics_port: int | None = None
    # OTLP/HTTP collector base URL; None leaves tracing off.
    otlp_endpoint: str | None = None


@dataclass(frozen=True)
class TasksSettings:
    server: ServerSettings
    database_url: str


@dataclass(frozen=True)
class LlmSettings:
    provider: str
    gemini_api_key: str | None = field(default=None, repr=False)
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    openai_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ChatSettings:
    server: ServerSettings
    database_url: str
    tasks_target: str
    llm: LlmSettings
    history_limit: int = 20
    max_tool_steps: int = 5
    rate_limit_per_minute: int = 10
    turn_timeout_seconds: float = 60.0
    system_prompt: str | None = None


@dataclass(frozen=True)
class GatewaySettings:
    host: str
    port: int
    chat_target: str
    tasks_target: str
    cors_origins: tuple[str, ...]
    max_body_bytes: int = 1024 * 1024
    default_timeout_seconds: float = 60.0
    metrics_port: int | None = None
    otlp_endpoint: str | None = None


@dataclass(frozen=True)
class McpSettings:
    """The MCP server offering the task tools (`todochat serve mcp`; the gateway mounts it too)."""

    host: str
    port: int
    tasks_target: str
    # How long one tool call may take, TaskService's answer included.
    tool_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class Settings:
    jwt: JwtSettings
    tasks: TasksSettings
    chat: ChatSettings
    gateway: GatewaySettings
    mcp: McpSettings
    var_dir: Path
    log_level: str = "INFO"
    log_format: str = "json"
    metrics_enabled: bool = True
    # For the terminal clients: a token to use instead of signing one locally.
    client_token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, create_dev_secret: bool = True
    ) -> Settings:
        """Builds settings from `env` (default: the process environment).

        With no JWT key configured, a local dev secret is created under the var dir;
        commands that never touch tokens (`migrate`) pass `create_dev_secret=False`.
        """
        reader = _Reader(dict(os.environ) if env is None else env)
        return reader.settings(create_dev_secret=create_dev_secret)


class _Reader:
    """Reads and casts values, remembering every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.problems: list[str] = []

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self._env.get(name)
        if value is None or value.strip() == "":
            return default
        return value.strip()

    def _cast(self, name: str, default: _T, cast: Callable[[str], _T], what: str) -> _T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            return cast(raw)
        except ValueError:
            self.problems.append(f"{name}={raw!r} is not {what}")
            return default

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self._cast(name, default, int, "an integer")
        if not low <= value <= high:
            self.problems.append(f"{name}={value} must be between {low} and {high}")
            return default
        return value

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self._cast(name, default, float, "a number")
        if not low <= value <= high:
            self.problems.append(f"{name}={value} must be between {low} and {high}")
            return default
        return value

    def boolean(self, name: str, default: bool) -> bool:
        def parse(raw: str) -> bool:
            lowered = raw.lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)

        return self._cast(name, default, parse, "a boolean (true/false)")

    def port(self, name: str, default: int) -> int:
        # 0 asks the OS for a free port, which tests and `todochat up` rely on.
        return self.integer(name, default, low=0, high=65535)

    def settings(self, *, create_dev_secret: bool = True) -> Settings:
        var_dir = Path(self.text("TODOCHAT_VAR_DIR", str(DEFAULT_VAR_DIR)) or DEFAULT_VAR_DIR)
        host = self.text("BIND_HOST", "127.0.0.1") or "127.0.0.1"
        grace = self.number("SHUTDOWN_GRACE_SECONDS", 10.0, low=0.0, high=300.0)
        max_msg = self.integer(
            "GRPC_MAX_MESSAGE_BYTES", 4 * 1024 * 1024, low=64 * 1024, high=64 * 1024 * 1024
        )
        shared_db = self.text("DATABASE_URL")
        tasks_db = self.text("TASKS_DATABASE_URL") or shared_db
        chat_db = self.text("CHAT_DATABASE_URL") or shared_db
        tasks_port = self.port("TASKS_PORT", 50052)
        chat_port = self.port("CHAT_PORT", 50051)
        gateway_port = self.port("GATEWAY_PORT", 8080)
        metrics = self.boolean("METRICS_ENABLED", True)
        tasks_metrics = self.port("TASKS_METRICS_PORT", 9464) if metrics else None
        chat_metrics = self.port("CHAT_METRICS_PORT", 9465) if metrics else None
        gateway_metrics = self.port("GATEWAY_METRICS_PORT", 9466) if metrics else None
        otlp = self.text("OTEL_EXPORTER_OTLP_ENDPOINT")
        if otlp is not None and not otlp.startswith(("http://", "https://")):
            self.problems.append("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL")
            otlp = None
        tasks_target = self.text("TASKS_TARGET", f"127.0.0.1:{tasks_port}") or ""
        chat_target = self.text("CHAT_TARGET", f"127.0.0.1:{chat_port}") or ""

        tasks = TasksSettings(
            server=ServerSettings(host, tasks_port, grace, max_msg, tasks_metrics, otlp),
            database_url=self._database_url(tasks_db, var_dir / "tasks.db", "TASKS_DATABASE_URL"),
        )
        chat = ChatSettings(
            server=ServerSettings(host, chat_port, grace, max_msg, chat_metrics, otlp),
            database_url=self._database_url(chat_db, var_dir / "chat.db", "CHAT_DATABASE_URL"),
            tasks_target=tasks_target,
            llm=self._llm(),
            history_limit=self.integer("CHAT_HISTORY_LIMIT", 20, low=1, high=200),
            max_tool_steps=self.integer("CHAT_MAX_TOOL_STEPS", 5, low=1, high=20),
            rate_limit_per_minute=self.integer(
                "CHAT_RATE_LIMIT_PER_MINUTE", 10, low=0, high=100000
            ),
            turn_timeout_seconds=self.number(
                "CHAT_TURN_TIMEOUT_SECONDS", 60.0, low=1.0, high=600.0
            ),
            system_prompt=self._system_prompt(),
        )
        origins = self.text("CORS_ORIGINS", "http://localhost:3000") or ""
        gateway = GatewaySettings(
            host=host,
            port=gateway_port,
            chat_target=chat_target,
            tasks_target=tasks_target,
            cors_origins=tuple(o.strip().rstrip("/") for o in origins.split(",") if o.strip()),
            max_body_bytes=self.integer(
                "GATEWAY_MAX_BODY_BYTES", 1024 * 1024, low=1024, high=64 * 1024 * 1024
            ),
            default_timeout_seconds=self.number(
                "GATEWAY_TIMEOUT_SECONDS", 60.0, low=0.1, high=3600.0
            ),
            metrics_port=gateway_metrics,
            otlp_endpoint=otlp,
        )
        mcp = McpSettings(
            host=host,
            port=self.port("MCP_PORT", 8765),
            tasks_target=tasks_target,
            tool_timeout_seconds=self.number("MCP_TOOL_TIMEOUT_SECONDS", 30.0, low=0.1, high=600.0),
        )
        log_level = (self.text("LOG_LEVEL", "INFO") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            self.problems.append(f"LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")
            log_level = "INFO"
        log_format = (self.text("LOG_FORMAT", "json") or "json").lower()
        if log_format not in {"json", "text"}:
            self.problems.append(f"LOG_FORMAT={log_format!r} must be json or text")
            log_format = "json"
        jwt = self._jwt(var_dir, create_dev_secret)
        if self.problems:
            raise ConfigError(self.problems)
        return Settings(
            jwt=jwt,
            tasks=tasks,
            chat=chat,
            gateway=gateway,
            mcp=mcp,
            var_dir=var_dir,
            log_level=log_level,
            log_format=log_format,
            metrics_enabled=metrics,
            client_token=self.text("TODOCHAT_TOKEN"),
        )

    def _database_url(self, value: str | None, default_file: Path, name: str) -> str:
        if value is None:
            return f"sqlite+aiosqlite:///{default_file}"
        # Operators paste the URLs their platform hands out; give them the async driver.
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        if value.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
            return value
        self.problems.append(
            f"{name} must be a postgresql:// or sqlite:// URL (got scheme "
            f"{value.split(':', 1)[0]!r})"
        )
        return f"sqlite+aiosqlite:///{default_file}"

    def _llm(self) -> LlmSettings:
        provider = (self.text("LLM_PROVIDER", "auto") or "auto").lower()
        if provider not in LLM_PROVIDERS:
            self.problems.append(
                f"LLM_PROVIDER={provider!r} must be one of {', '.join(LLM_PROVIDERS)}"
            )
            provider = "auto"
        gemini_key = self.text("GEMINI_API_KEY")
        openai_key = self.text("OPENAI_API_KEY")
        if provider == "gemini" and gemini_key is None:
            self.problems.append("LLM_PROVIDER=gemini needs GEMINI_API_KEY")
        if provider == "openai" and openai_key is None and self.text("OPENAI_BASE_URL") is None:
            self.problems.append("LLM_PROVIDER=openai needs OPENAI_API_KEY (or OPENAI_BASE_URL)")
        return LlmSettings(
            provider=provider,
            gemini_api_key=gemini_key,
            gemini_model=self.text("GEMINI_MODEL", "gemini-2.5-flash") or "gemini-2.5-flash",
            gemini_base_url=self.text("GEMINI_BASE_URL"),
            openai_api_key=openai_key,
            openai_model=self.text("OPENAI_MODEL", "gpt-4o-mini") or "gpt-4o-mini",
            openai_base_url=self.text("OPENAI_BASE_URL"),
            timeout_seconds=self.number("LLM_TIMEOUT_SECONDS", 30.0, low=0.1, high=600.0),
        )

    def _system_prompt(self) -> str | None:
        inline = self.text("SYSTEM_PROMPT")
        path = self.text("SYSTEM_PROMPT_FILE")
        if inline is not None and path is not None:
            self.problems.append("set SYSTEM_PROMPT or SYSTEM_PROMPT_FILE, not both")
        if path is not None:
            try:
                return Path(path).read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                self.problems.append(f"SYSTEM_PROMPT_FILE={path!r} cannot be read: {exc.strerror}")
        return inline

    def _jwt(self, var_dir: Path, create_dev_secret: bool) -> JwtSettings:
        secret = self.text("JWT_SECRET")
        public_key = self.text("JWT_PUBLIC_KEY")
        jwks_url = self.text("JWT_JWKS_URL")
        issuer = self.text("JWT_ISSUER")
        audience = self.text("JWT_AUDIENCE")
        leeway = self.integer("JWT_LEEWAY_SECONDS", 30, low=0, high=300)
        configured = [
            n
            for n, v in (
                ("JWT_SECRET", secret),
                ("JWT_PUBLIC_KEY", public_key),
                ("JWT_JWKS_URL", jwks_url),
            )
            if v is not None
        ]
        if len(configured) > 1:
            self.problems.append(f"set only one of {', '.join(configured)}")
        source = "environment"
        if not configured and create_dev_secret:
            secret = load_or_create_dev_secret(var_dir)
            source = f"dev secret in {var_dir / 'dev-jwt-secret'}"
        elif not configured:
            source = "none (this command verifies no tokens)"
        default_algs = (
            "HS256" if secret is not None and public_key is None and jwks_url is None else "RS256"
        )
        algs_text = self.text("JWT_ALGORITHMS", default_algs) or default_algs
        algorithms = tuple(a.strip() for a in algs_text.split(",") if a.strip())
        unknown = [a for a in algorithms if a not in _HMAC_ALGORITHMS | _ASYMMETRIC_ALGORITHMS]
        if unknown:
            self.problems.append(f"JWT_ALGORITHMS has unsupported {', '.join(unknown)}")
        if secret is not None and jwks_url is None and public_key is None:
            if len(secret.encode()) < _MIN_HS_SECRET_BYTES:
                self.problems.append(
                    f"JWT_SECRET must be at least {_MIN_HS_SECRET_BYTES} bytes "
                    "(a short HMAC secret can be brute-forced)"
                )
            if any(a not in _HMAC_ALGORITHMS for a in algorithms):
                self.problems.append(
                    "JWT_SECRET works only with HS256/HS384/HS512 in JWT_ALGORITHMS"
                )
        if (public_key is not None or jwks_url is not None) and any(
            a in _HMAC_ALGORITHMS for a in algorithms
        ):
            # Mixing both families would allow the HS/RS key-confusion attack.
            self.problems.append("JWT_PUBLIC_KEY/JWT_JWKS_URL need asymmetric JWT_ALGORITHMS only")
        if public_key is not None and "BEGIN" not in public_key:
            self.problems.append("JWT_PUBLIC_KEY must be PEM text (-----BEGIN PUBLIC KEY-----)")
        if jwks_url is not None and not jwks_url.startswith(("https://", "http://")):
            self.problems.append("JWT_JWKS_URL must be an http(s) URL")
        return JwtSettings(
            algorithms=algorithms,
            secret=secret,
            public_key=public_key,
            jwks_url=jwks_url,
            issuer=issuer,
            audience=audience,
            leeway_seconds=leeway,
            source=source,
        )


def load_or_create_dev_secret(var_dir: Path) -> str:
    """Returns the local development secret, creating it (mode 0600) on first use."""
    path = var_dir / "dev-jwt-secret"
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    var_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret + "\n")
    return secret


def child_environment(
    overrides: Mapping[str, str], *, defaults: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a child process: ours, plus `defaults` where unset, plus `overrides`."""
    env = dict(defaults or {})
    env.update(os.environ)
    env.update(overrides)
    return env
