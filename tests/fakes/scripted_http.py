"""A scripted HTTP/1.1 server on 127.0.0.1 for faking model providers' REST APIs.

Tests queue replies (JSON, server-sent events, stalls, dropped streams) and afterwards
assert on every recorded request. It runs in a thread, so the real SDKs talk to it
through their real HTTP stack from the test's event loop.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None when there was no body


@dataclass(frozen=True)
class JsonReply:
    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SseReply:
    """`events` are the `data:` payloads (dicts are JSON-encoded, strings sent as they are)."""

    events: Sequence[Any]
    gap_seconds: float = 0.0
    # End by closing the connection without the last chunk, as a crashed upstream would.
    drop_at_end: bool = False


@dataclass(frozen=True)
class StallReply:
    """Waits `seconds` before answering with `then` (or hanging up): for client timeouts."""

    seconds: float
    then: JsonReply | None = None


Reply = JsonReply | SseReply | StallReply
Adapt = Callable[[Recorded, Reply], Reply]


class ScriptedHttpServer:
    """Serves queued replies in order; an unscripted request gets a 500 naming the problem."""

    def __init__(self, adapt: Adapt | None = None) -> None:
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._adapt = adapt
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def unused_replies(self) -> int:
        with self._lock:
            return len(self._script)

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.02,), name="fake-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _take(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            reply: Reply = (
                self._script.popleft()
                if self._script
                else JsonReply({"error": {"code": 500, "message": "fake: nothing scripted"}}, 500)
            )
        return self._adapt(request, reply) if self._adapt else reply


def _handler_for(fake: ScriptedHttpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            request = Recorded(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw else None,
            )
            try:
                self._send(fake._take(request))
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test)

        def _send(self, reply: Reply) -> None:
            if isinstance(reply, StallReply):
                fake._stopping.wait(reply.seconds)
                if reply.then is None:
                    self.close_connection = True
                    return
                reply = reply.then
            if isinstance(reply, JsonReply):
                data = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in reply.events:
                payload = event if isinstance(event, str) else json.dumps(event)
                frame = f"data: {payload}\n\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
                if reply.gap_seconds:
                    fake._stopping.wait(reply.gap_seconds)
            if reply.drop_at_end:
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")

    return Handler
