"""Which database failures are an outage (UNAVAILABLE, retry) and which are bugs, for the
errors as SQLAlchemy's asyncpg dialect really raises them: the driver's exception
translated into the adapter's own class, wrapped in a SQLAlchemy DBAPIError."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    PGDialect_asyncpg,
)
from sqlalchemy.exc import DBAPIError

from services.servicekit.database import is_unavailable_error


def _as_sqlalchemy_raises(driver_error: Exception) -> DBAPIError:
    # The dialect's own translation (what failed in the drill: a connect while the
    # server shut down), then the DBAPIError the engine wraps around it.
    dbapi = PGDialect_asyncpg.import_dbapi()
    try:
        try:
            raise driver_error
        except Exception as error:
            AsyncAdapt_asyncpg_connection._handle_exception_no_connection(dbapi, error)
    except Exception as translated:
        return DBAPIError.instance("SELECT 1", None, translated, dbapi.Error)
    raise AssertionError("the dialect translated nothing")


@pytest.mark.parametrize(
    ("driver_error", "outage"),
    [
        pytest.param(
            asyncpg.exceptions.CannotConnectNowError("the database system is shutting down"),
            True,
            id="server-shutting-down",
        ),
        pytest.param(
            asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
            True,
            id="server-starting-up",
        ),
        pytest.param(
            asyncpg.exceptions.AdminShutdownError("terminating connection"),
            True,
            id="connection-terminated",
        ),
        pytest.param(
            asyncpg.exceptions.UniqueViolationError("duplicate key"), False, id="constraint"
        ),
        pytest.param(
            asyncpg.exceptions.UndefinedColumnError("no such column"), False, id="sql-bug"
        ),
    ],
)
def test_outages_are_told_from_bugs_through_the_dialects_wrapping(
    driver_error: Exception, outage: bool
) -> None:
    assert is_unavailable_error(_as_sqlalchemy_raises(driver_error)) is outage
