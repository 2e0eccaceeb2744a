"""The body of every service's Alembic env.py: migrate on the connection we pass in.

`servicekit.migrations.upgrade` opens an async engine and hands Alembic a sync
connection through `config.attributes`; offline (SQL script) mode is not offered.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import MetaData


def run(target_metadata: MetaData) -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `todochat migrate`, which supplies the connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
