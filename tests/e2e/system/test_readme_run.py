"""The README's run command, executed verbatim in a temporary copy of the repository.

It must bring the whole system up on free ports, serve a scripted conversation over
REST with the right answers and task list, keep the data across a second start on the
same ./var/, drive `todochat chat` through a pseudo-terminal, and end every process it
started on SIGTERM.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import queue
import re
import select
import shutil
import signal
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

ROOT = Path(__file__).resolve().parents[3]
UP_TIMEOUT = 240.0  # a cold copy creates its own .venv and node_modules first


def readme_run_command() -> str:
    """The command in the README's first sh block after 'Run the whole system'."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text.split("Run the whole system", 1)[1]
    block = re.search(r"```sh\n(.+?)\n```", after, re.S)
    assert block is not None, "README has a run command"
    return block.group(1).strip()


@dataclass
class System:
    process: subprocess.Popen[bytes]
    output: list[str]
    gateway: str
    chat_target: str
    token: str
    env: dict[str, str]


def _copy_repository(dest: Path) -> None:
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found.add(int(entry.name))
                found |= _children(int(entry.name))
    return found


def _start(copy: Path, env: dict[str, str]) -> System:
    process = subprocess.Popen(
        ["bash", "-c", readme_run_command()],
        cwd=copy,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump(stream: IO[bytes]) -> None:
        # A thread, not select(): buffered readline() would hide lines from select.
        for raw in stream:
            lines.put(raw.decode(errors="replace"))
        lines.put(None)

    threading.Thread(target=pump, args=(process.stdout,), daemon=True).start()
    output: list[str] = []
    deadline = time.monotonic() + UP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            break
        output.append(line)
        if line.startswith("Ctrl-C stops everything"):
            banner = "".join(output)
            gateway = re.search(r"REST gateway (http://\S+)", banner)
            chat = re.search(r"ChatService\s+grpc://(\S+)", banner)
            token = re.search(r"export TOKEN=(\S+)", banner)
            assert gateway and chat and token, banner
            return System(process, output, gateway.group(1), chat.group(1), token.group(1), env)
    _kill_group(process)
    pytest.fail("the system did not come up:\n" + "".join(output[-60:]))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Ends the command and everything it started (its own session), whatever state it is in."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _stop(system: System) -> None:
    children = _children(system.process.pid)
    try:
        assert children, "the launcher runs the services as its children"
        system.process.send_signal(signal.SIGTERM)
        assert system.process.wait(timeout=60) == 0
        time.sleep(0.5)
        alive = [pid for pid in children if Path(f"/proc/{pid}").exists()]
        assert alive == [], f"processes left running after SIGTERM: {alive}"
    finally:
        if system.process.poll() is None or any(Path(f"/proc/{p}").exists() for p in children):
            _kill_group(system.process)


def _call(system: System, method: str, path: str, body: object | None = None) -> object:
    request = urllib.request.Request(  # noqa: S310 - the gateway on 127.0.0.1
        system.gateway + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {system.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - 127.0.0.1
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    dest = tmp_path_factory.mktemp("todochat-copy")
    _copy_repository(dest)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "TODOCHAT_"))}
    env.update({f"{name}_PORT": "0" for name in ("TASKS", "CHAT", "GATEWAY", "MCP")})
    env.update({f"{name}_METRICS_PORT": "0" for name in ("TASKS", "CHAT", "GATEWAY")})
    env["LLM_PROVIDER"] = "offline"
    return dest, env


def _tasks(system: System) -> list[dict[str, object]]:
    tasks = _call(system, "GET", "/api/demo/tasks")
    assert isinstance(tasks, list)
    return tasks


def test_readme_run_command_end_to_end(copy: tuple[Path, dict[str, str]]) -> None:
    dest, env = copy
    system = _start(dest, env)
    try:
        first = _call(system, "POST", "/api/chat", {"content": "add buy milk and call mom"})
        assert isinstance(first, dict)
        conversation = first["conversation_id"]
        assert [c["name"] for c in first["tool_calls"]] == ["add_task", "add_task"]
        listed = _call(
            system,
            "POST",
            "/api/chat",
            {"content": "show my tasks", "conversation_id": conversation},
        )
        assert isinstance(listed, dict)
        assert "milk" in listed["content"].lower() and "mom" in listed["content"].lower()
        done = _call(
            system,
            "POST",
            "/api/chat",
            {"content": "complete buy milk", "conversation_id": conversation},
        )
        assert isinstance(done, dict)
        assert done["tool_calls"][-1]["name"] == "complete_task" and done["tool_calls"][-1]["ok"]
        gone = _call(
            system,
            "POST",
            "/api/chat",
            {"content": "delete call mom", "conversation_id": conversation},
        )
        assert isinstance(gone, dict)
        assert gone["tool_calls"][-1]["name"] == "delete_task" and gone["tool_calls"][-1]["ok"]
        tasks = _tasks(system)
        assert [(str(t["title"]).lower(), t["completed"]) for t in tasks] == [("buy milk", True)]
    finally:
        _stop(system)

    # Started again on the same ./var/: the data is still there.
    again = _start(dest, env)
    try:
        assert [str(t["title"]).lower() for t in _tasks(again)] == ["buy milk"]
        _terminal_chat(again, dest)
        assert sorted(str(t["title"]).lower() for t in _tasks(again)) == [
            "buy milk",
            "water the plants",
        ]
    finally:
        _stop(again)


def _terminal_chat(system: System, dest: Path) -> None:
    """`todochat chat` in a pseudo-terminal: a message in, the tool call and answer out."""
    main, secondary = pty.openpty()
    env = {**system.env, "CHAT_TARGET": system.chat_target, "TODOCHAT_TOKEN": system.token}
    process = subprocess.Popen(
        [str(dest / ".venv/bin/todochat"), "chat", "--new"],
        cwd=dest,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        close_fds=True,
    )
    os.close(secondary)
    seen = ""

    def read_until(marker: str, within: float = 30.0) -> None:
        nonlocal seen
        deadline = time.monotonic() + within
        while marker not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(main, 4096).decode(errors="replace")
                except OSError:
                    break
        assert marker in seen, seen

    try:
        read_until("you> ")
        os.write(main, b"add water the plants\n")
        read_until("→ add_task")
        read_until("✓ add_task")
        read_until("todobot> ")
        read_until("you> ", within=10)
        assert "the plants" in seen.split("todobot> ", 1)[1].lower()
        os.write(main, b"exit\n")
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
