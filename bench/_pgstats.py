"""Database round trips, counted by PostgreSQL itself with pg_stat_statements.

Each service gets its own database, so the counts split by service (`dbid`). A snapshot
sums `calls` per statement text; the difference of two snapshots is what the services
executed in between. With `pg_stat_statements.track_utility = on` the transaction
statements (BEGIN ..., COMMIT, ROLLBACK) are counted too.

One execution is one round trip for the services' driver: asyncpg sends each statement
as Bind/Execute/Sync and waits for ReadyForQuery, and BEGIN/COMMIT as one simple query
each. Two things cost a round trip without being counted here: asyncpg's Parse/Describe
the first time a connection sees a statement (its per-connection statement cache makes
that once per connection, i.e. during the warm-up), and SQLAlchemy's first-connect
queries (also warm-up).

`pg_stat_database.xact_commit + xact_rollback` gives transactions (every statement
outside an explicit transaction counts as one). Backends report those counters at most
once a second, so over a window of a few seconds they are approximate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import asyncpg

from bench._pg import plain_dsn

PRELOAD_SETTINGS = (
    "shared_preload_libraries=pg_stat_statements",
    "pg_stat_statements.track_utility=on",
    "pg_stat_statements.max=10000",
)


@dataclass
class Snapshot:
    # (service label, statement text) -> calls so far
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    # service label -> committed + rolled back transactions so far
    transactions: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class Usage:
    """What each service executed between two snapshots."""

    calls: Mapping[str, int]  # per service
    transactions: Mapping[str, int]
    statements: Mapping[tuple[str, str], int]  # per (service, statement)


class StatementCounter:
    """Reads pg_stat_statements over a connection of its own, to a database the services
    do not use, so its own queries never count."""

    def __init__(self, monitor_url: str, databases: Mapping[str, str]) -> None:
        self._dsn = plain_dsn(monitor_url)
        self._labels = {name: label for label, name in databases.items()}
        self._connection: asyncpg.Connection | None = None
        self.unavailable: str | None = None

    async def open(self) -> None:
        self._connection = await asyncpg.connect(self._dsn)
        try:
            await self._connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            await self._connection.fetchval("SELECT count(*) FROM pg_stat_statements")
        except asyncpg.PostgresError as exc:
            # e.g. a BENCH_DATABASE_URL server without the library preloaded.
            self.unavailable = f"pg_stat_statements unavailable: {exc}"

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()

    async def snapshot(self) -> Snapshot:
        assert self._connection is not None
        snap = Snapshot()
        names = list(self._labels)
        if self.unavailable is None:
            rows = await self._connection.fetch(
                "SELECT d.datname, s.query, sum(s.calls)::bigint AS calls "
                "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                "WHERE d.datname = ANY($1::text[]) GROUP BY 1, 2",
                names,
            )
            for row in rows:
                snap.calls[(self._labels[row["datname"]], row["query"])] = row["calls"]
        rows = await self._connection.fetch(
            "SELECT datname, xact_commit + xact_rollback AS xacts FROM pg_stat_database "
            "WHERE datname = ANY($1::text[])",
            names,
        )
        for row in rows:
            snap.transactions[self._labels[row["datname"]]] = row["xacts"]
        return snap


def difference(start: Snapshot, end: Snapshot) -> Usage:
    statements = {key: n - start.calls.get(key, 0) for key, n in end.calls.items()}
    statements = {key: n for key, n in statements.items() if n > 0}
    calls: Counter[str] = Counter()
    for (label, _), n in statements.items():
        calls[label] += n
    transactions = {
        label: n - start.transactions.get(label, 0) for label, n in end.transactions.items()
    }
    return Usage(dict(calls), transactions, statements)
