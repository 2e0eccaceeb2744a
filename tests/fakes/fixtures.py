"""pytest fixtures for the fake model servers; import them into a conftest.py to use them."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from tests.fakes.gemini_server import GeminiFake
from tests.fakes.openai_server import OpenAIFake


@pytest.fixture
def gemini_server() -> Iterator[GeminiFake]:
    fake = GeminiFake()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def openai_server() -> Iterator[OpenAIFake]:
    fake = OpenAIFake()
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def closed_port_origin() -> str:
    """An http origin on 127.0.0.1 where nothing listens: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
