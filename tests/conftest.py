"""Fixtures every test suite shares: a real PostgreSQL, fresh databases, tokens.

PostgreSQL: `TEST_DATABASE_URL` (a server URL whose user may CREATE DATABASE) when
set; otherwise a throwaway cluster from the installed server binaries, started once
per test session on a free port and removed afterwards. Each test that needs a
database gets its own, freshly migrated: tests never share rows.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from services.servicekit.auth import issue_token
from services.servicekit.config import JwtSettings

TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if not candidates:
        pytest.fail(
            f"PostgreSQL binary {name!r} not found; install postgresql or set TEST_DATABASE_URL"
        )
    return str(candidates[0])


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; run the server binaries as the postgres user.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temp dir, on a free port, for tests."""

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="todochat-pg-"))
        self.datadir = self.workdir / "data"
        self.port = _free_port()
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("initdb"),
                    "-D",
                    str(self.datadir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--no-sync",
                    "-E",
                    "UTF8",
                ]
            ),
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(self.datadir),
                    "-l",
                    str(self.workdir / "server.log"),
                    "-w",
                    "-o",
                    f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"]),
            capture_output=True,
            check=False,
        )

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server URL (asyncpg driver) whose user can create databases."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        url = make_url(configured).set(drivername="postgresql+asyncpg")
        yield url.render_as_string(hide_password=False)
        return
    cluster = ThrowawayPostgres()
    cluster.start()
    try:
        yield cluster.url
    finally:
        cluster.remove()


@pytest.fixture
def private_postgres() -> Iterator[ThrowawayPostgres]:
    """A cluster of this test's own, which it may stop and restart (even when the other
    tests use TEST_DATABASE_URL, which must never be stopped)."""
    cluster = ThrowawayPostgres()
    cluster.start()
    yield cluster
    cluster.remove()


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
async def postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    """A fresh, empty database on the test server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_dsn(postgres_server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    admin = await asyncpg.connect(_dsn(postgres_server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs a test once on SQLite and once on PostgreSQL."""
    # A sync fixture: pytest-asyncio can only start the async postgres_url from outside
    # the running loop.
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def jwt_settings() -> JwtSettings:
    return JwtSettings(algorithms=("HS256",), secret=TEST_JWT_SECRET)


@pytest.fixture
def token_for(jwt_settings: JwtSettings) -> Callable[[str], str]:
    def make(user_id: str) -> str:
        return issue_token(jwt_settings, user_id, 3600)

    return make


@pytest.fixture
def user_id() -> str:
    """A user id no other test uses."""
    return f"user-{uuid.uuid4().hex[:12]}"
