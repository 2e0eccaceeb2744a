"""uvicorn, with signal handling that ends `serve()` by returning.

uvicorn's own handlers re-raise the signal once it has shut down, which kills the
process before the caller's cleanup runs; these only ask the server to exit (a second
signal forces it). Used by every HTTP service (the gateway, the MCP server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

import uvicorn

_log = logging.getLogger("todochat.http")


class SignalAwareServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._exit_requested)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def _exit_requested(self) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True
        _log.info("shutdown requested; draining")
