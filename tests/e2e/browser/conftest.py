"""The whole system in this process (TaskService, ChatService with the offline agent,
the gateway on uvicorn, all on 127.0.0.1 port 0) and Debian's Chromium under Playwright.

Chromium comes from the distribution (`scripts/test` installs it), never from
`playwright install`. Without it these tests fail, loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, async_playwright

from services.chat import app as chat_app
from services.gateway import app as gateway_app
from services.servicekit.config import (
    ChatSettings,
    GatewaySettings,
    JwtSettings,
    LlmSettings,
    ServerSettings,
)
from tests.integration.tasks.conftest import start_tasks

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"


@dataclass(frozen=True)
class System:
    base_url: str
    token_for: Callable[[str], str]


@pytest.fixture
def chat_rate_limit() -> int:
    """Turns per user per minute; 0 is unlimited. A test parametrizes it to hit the limit."""
    return 0


@pytest.fixture
async def system(
    postgres_url: str,
    jwt_settings: JwtSettings,
    token_for: Callable[[str], str],
    chat_rate_limit: int,
) -> AsyncIterator[System]:
    tasks = await start_tasks(postgres_url, jwt_settings)
    chat_settings = ChatSettings(
        server=ServerSettings(host="127.0.0.1", port=0, grace_seconds=2),
        database_url=postgres_url,
        tasks_target=tasks.target,
        llm=LlmSettings(provider="offline", timeout_seconds=10),
        rate_limit_per_minute=chat_rate_limit,
    )
    await chat_app.migrate(chat_settings)
    chat = chat_app.build(chat_settings, jwt_settings)
    chat_port = await chat.start()
    gateway = gateway_app.build(
        GatewaySettings(
            host="127.0.0.1",
            port=0,
            chat_target=f"127.0.0.1:{chat_port}",
            tasks_target=tasks.target,
            cors_origins=(),
        )
    )
    config = uvicorn.Config(gateway, host="127.0.0.1", port=0, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield System(f"http://127.0.0.1:{port}", token_for)
    finally:
        server.should_exit = True
        await serving
        await gateway.aclose()
        await chat.stop(0)
        await tasks.app.stop(0)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: run scripts/test (it installs Debian's chromium) or "
            "`apt-get install -y chromium`"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
