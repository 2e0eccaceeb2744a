"""The async database engine: asyncpg for PostgreSQL, aiosqlite for the embedded default."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

SessionFactory = async_sessionmaker[AsyncSession]

# Fixed constraint names for every service's metadata, so migrations can refer to
# constraints by name on every backend (Alembic's naming guide).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    """Builds the engine for `url`. Callers own it and must `await engine.dispose()`."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, echo=echo, connect_args={"timeout": 15}, pool_pre_ping=False
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: it would add a round trip to every request. A connection that
        # died with a restarted server fails its request as UNAVAILABLE (see
        # is_unavailable_error), SQLAlchemy invalidates the whole pool, and the
        # client's retry policy resends the call on a fresh connection.
        pool_pre_ping=False,
        pool_recycle=1800,
        connect_args={"command_timeout": 30, "server_settings": {"application_name": "todochat"}},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the three local processes read while one writes; foreign keys make
    # ON DELETE CASCADE real; busy_timeout waits instead of failing under contention.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine, within: float = 2.0) -> bool:
    """True when the database answers `SELECT 1` within `within` seconds."""
    try:
        async with asyncio.timeout(within):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not serving"; the health loop logs transitions
        return False


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def is_unavailable_error(exc: BaseException) -> bool:
    """True for failures that mean "the database is unreachable right now", which callers
    may retry, as opposed to bugs or constraint violations."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return any(_is_asyncpg_unavailable(e) for e in _wrapped(exc.orig))
    return isinstance(exc, ConnectionError | TimeoutError) or _is_asyncpg_unavailable(exc)


def _wrapped(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and the errors it wraps. SQLAlchemy's asyncpg adapter raises its own `Error`
    around the driver's, which it keeps as `.orig` (and as the cause): e.g. asyncpg's
    CannotConnectNowError while the server shuts down or starts up."""
    current: BaseException | None = exc
    for _ in range(4):  # a short chain; never loop on a cycle
        if current is None:
            return
        yield current
        current = getattr(current, "orig", None) or current.__cause__


def _is_asyncpg_unavailable(exc: BaseException) -> bool:
    name = type(exc).__name__
    return name in {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "ConnectionFailureError",
        "AdminShutdownError",
        "CrashShutdownError",
        "TooManyConnectionsError",
        "InterfaceError",
    } or isinstance(exc, OSError)


def describe(url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(url).render_as_string(hide_password=True)
