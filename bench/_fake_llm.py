"""A fake OpenAI chat-completions server for the chat-turn benchmark, in its own process.

`python -m bench._fake_llm --latency 1.0` listens on 127.0.0.1 (a free port), prints
`port N` on stdout and serves until SIGTERM/SIGINT:

- `POST /v1/chat/completions`: waits `--latency` seconds (asyncio.sleep, so any number
  of requests wait at once), then answers like the real API. A request whose last
  message is the user's gets one `add_task` tool call, titled from the user's words
  after "add "; a request whose last message is a tool result gets the text
  `Added "<title>".`, with the title read back from that result (so the answer proves
  the task went through TaskService and back).
- `GET /stats`: request counts and the largest number of requests waiting at once.

Plain asyncio streams and HTTP/1.1 keep-alive (what the openai SDK's httpx client
speaks), no framework: a few hundred microseconds of CPU per request, so 100 requests a
second take a few percent of a core and the fake never paces the benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

COMPLETIONS_PATH = "/v1/chat/completions"


@dataclass
class Stats:
    requests: int = 0
    tool_call_replies: int = 0
    text_replies: int = 0
    bad_requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


def _completion(message: dict[str, Any], finish: str, seq: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-bench-{seq}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "gpt-bench",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 400, "completion_tokens": 12, "total_tokens": 412},
    }


def reply_for(body: dict[str, Any], seq: int) -> dict[str, Any]:
    """The scripted answer: a tool call for a user message, text after a tool result."""
    last = body["messages"][-1]
    if last["role"] == "tool":
        title = json.loads(last["content"])["title"]
        return _completion({"role": "assistant", "content": f'Added "{title}".'}, "stop", seq)
    if not body.get("tools"):
        raise ValueError("no tools declared")
    content = str(last["content"])
    title = content.split("add ", 1)[1] if "add " in content else content
    call = {
        "id": f"call_{seq}",
        "type": "function",
        "function": {"name": "add_task", "arguments": json.dumps({"title": title})},
    }
    return _completion(
        {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls", seq
    )


class FakeLlm:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.stats = Stats()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                length = 0
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                body = await reader.readexactly(length) if length else b""
                status, payload = await self._route(method, path, body)
                data = json.dumps(payload).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
                    f"content-length: {len(data)}\r\nconnection: keep-alive\r\n\r\n".encode()
                    + data
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        except asyncio.CancelledError:
            return  # shutting down: asyncio would log each cancelled connection otherwise
        finally:
            writer.close()

    async def _route(self, method: str, path: str, body: bytes) -> tuple[str, Any]:
        if method == "GET" and path == "/stats":
            return "200 OK", asdict(self.stats)
        if method != "POST" or path.split("?", 1)[0] != COMPLETIONS_PATH:
            return "404 Not Found", {"error": {"message": f"no route {method} {path}"}}
        stats = self.stats
        stats.requests += 1
        seq = stats.requests
        try:
            reply = reply_for(json.loads(body), seq)
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            stats.bad_requests += 1
            return "400 Bad Request", {"error": {"message": f"unexpected request: {exc}"}}
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            await asyncio.sleep(self.latency)
        finally:
            stats.in_flight -= 1
        if reply["choices"][0]["finish_reason"] == "tool_calls":
            stats.tool_call_replies += 1
        else:
            stats.text_replies += 1
        return "200 OK", reply


class FakeLlmProcess:
    """This module as a child process: `start()` learns its port, `stats()` asks it."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def start(self, within: float = 15.0) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench._fake_llm",
            "--latency",
            str(self.latency),
            stdout=asyncio.subprocess.PIPE,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), within)
        if not line.startswith(b"port "):
            raise SystemExit(f"fake LLM did not start: {line!r}")
        self.port = int(line.split()[1])

    async def stats(self) -> dict[str, int]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"GET /stats HTTP/1.1\r\nhost: fake\r\nconnection: close\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        body = await reader.readexactly(length)
        writer.close()
        stats: dict[str, int] = json.loads(body)
        return stats

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self._process.wait(), 5)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


async def _serve(latency: float) -> None:
    fake = FakeLlm(latency)
    server = await asyncio.start_server(fake.handle, "127.0.0.1", 0, backlog=1024)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench._fake_llm")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per model call")
    asyncio.run(_serve(parser.parse_args().latency))


if __name__ == "__main__":
    main()
