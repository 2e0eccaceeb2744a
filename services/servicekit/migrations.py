"""Runs a service's Alembic migrations against its database, from typed settings.

Each service keeps its own migration scripts and its own version table, so two
services can share one PostgreSQL cluster (or database) without touching each
other's schema history.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from services.servicekit.database import create_engine


def _config(script_location: Path, version_table: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["version_table"] = version_table
    return config


async def upgrade(database_url: str, script_location: Path, version_table: str) -> None:
    """Applies every pending migration (idempotent)."""
    config = _config(script_location, version_table)
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade, config)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
