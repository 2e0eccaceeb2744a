from collections.abc import AsyncIterator

import pytest

from services.chat.llm.gemini import GeminiProvider
from services.chat.llm.openai import OpenAIProvider
from tests.fakes.fixtures import closed_port_origin, gemini_server, openai_server
from tests.fakes.gemini_server import GeminiFake
from tests.fakes.openai_server import OpenAIFake
from tests.unit.chat.llm.providers import gemini_provider, openai_provider

__all__ = ["closed_port_origin", "gemini_server", "openai_server"]


@pytest.fixture
async def gemini(gemini_server: GeminiFake) -> AsyncIterator[GeminiProvider]:
    built = gemini_provider(gemini_server.origin)
    yield built
    await built.aclose()


@pytest.fixture
async def openai(openai_server: OpenAIFake) -> AsyncIterator[OpenAIProvider]:
    built = openai_provider(openai_server.base_url)
    yield built
    await built.aclose()
