"""A throwaway PostgreSQL cluster for benchmarks, or a fresh database on $BENCH_DATABASE_URL.

Same approach as the test fixture (tests/conftest.py ThrowawayPostgres): initdb into a
temp dir, run the server binaries as the postgres user (initdb refuses root), listen on
127.0.0.1 on a free port. That fixture lives in a pytest conftest and fails through
pytest, so it is not imported here.

Durability is off (fsync, synchronous_commit, full_page_writes): commits cost a WAL
write to the page cache, not a disk flush. Both the service and the raw loop run on
this one server, so they pay exactly the same.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

DURABILITY_OFF = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
SERVER_OPTIONS = " ".join(
    f"-c {setting}"
    for setting in ("listen_addresses=127.0.0.1", *DURABILITY_OFF, "max_connections=300")
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    if not candidates:
        raise SystemExit(
            f"PostgreSQL binary {name!r} not found: install postgresql or set BENCH_DATABASE_URL"
        )
    return str(candidates[0])


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class ThrowawayCluster:
    """A private cluster in a temp dir; `remove()` stops it and deletes everything."""

    def __init__(self, settings: tuple[str, ...] = ()) -> None:
        # Extra `name=value` server settings, e.g. to preload pg_stat_statements.
        self._settings = settings
        self.workdir = Path(tempfile.mkdtemp(prefix="todochat-bench-pg-"))
        self.datadir = self.workdir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.workdir, "postgres", "postgres")
        initdb = [_pg_bin("initdb"), "-D", str(self.datadir), "-U", "postgres"]
        initdb += ["--auth=trust", "--no-sync", "-E", "UTF8"]
        subprocess.run(_as_postgres(initdb), check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        extra = "".join(f" -c {setting}" for setting in self._settings)
        options = f"-p {self.port} -k {self.workdir} {SERVER_OPTIONS}{extra}"
        log = str(self.workdir / "server.log")
        cmd = [_pg_bin("pg_ctl"), "-D", str(self.datadir), "-l", log, "-w", "-o", options, "start"]
        subprocess.run(_as_postgres(cmd), check=True, capture_output=True)

    def postmaster_pid(self) -> int:
        return int((self.datadir / "postmaster.pid").read_text().split("\n", 1)[0])

    def remove(self) -> None:
        stop = [_pg_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)


def plain_dsn(url: str) -> str:
    """The URL as asyncpg wants it (no `+asyncpg` driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def asyncpg_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@dataclass
class BenchDatabase:
    """A fresh database for one run: `url` (SQLAlchemy, asyncpg driver), `postmaster_pid`
    when the server is ours (so its CPU can be measured), and how to tear it down."""

    url: str
    postmaster_pid: int | None
    _cluster: ThrowawayCluster | None
    _server_url: str | None
    _siblings: list[str] = field(default_factory=list)

    async def sibling(self, suffix: str) -> str:
        """Creates another fresh database on the same server (dropped by `close`), for
        services that each get their own; returns its URL."""
        name = f"{make_url(self.url).database}_{suffix}"
        await _create_database(self.url, name)
        self._siblings.append(name)
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    async def close(self) -> None:
        if self._cluster is not None:
            self._cluster.remove()
        elif self._server_url is not None:
            for name in self._siblings:
                await _drop_database(self._server_url, name)
            await _drop_database(self._server_url, make_url(self.url).database or "")


async def _create_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(plain_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def _drop_database(server_url: str, name: str) -> None:
    admin = await asyncpg.connect(plain_dsn(server_url))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def open_database(external_url: str | None, settings: tuple[str, ...] = ()) -> BenchDatabase:
    """A throwaway cluster (started with the extra server `settings`), or a fresh database
    on `external_url` (whose user may CREATE DATABASE; `settings` are then the server's
    business); either way the benchmark never touches existing data."""
    if external_url:
        server_url = asyncpg_url(external_url)
        name = f"bench_{uuid.uuid4().hex[:12]}"
        await _create_database(server_url, name)
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
        return BenchDatabase(url, None, None, server_url)
    cluster = ThrowawayCluster(settings)
    try:
        cluster.start()
    except BaseException:
        cluster.remove()
        raise
    return BenchDatabase(cluster.url, cluster.postmaster_pid(), cluster, None)
