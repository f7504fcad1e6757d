"""A time bound on the statements of one read transaction, enforced by the database itself.

PostgreSQL: ``statement_timeout``, set for the transaction only, cancels a statement on
the server once it has run that long, whether or not its client is still there;
``client_connection_check_interval`` (PostgreSQL 14 and later: one second, or the bound if
shorter) also ends it soon after its client went away, so a killed ``sluice articles
search`` leaves no query running on the server for longer than about a second, and never
longer than the bound. SQLite: a progress handler, called every few thousand
virtual-machine instructions, interrupts the statement once the bound has passed (the
query runs in the client's own process, so it ends with it).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

__all__ = ["StatementTimeout", "statement_limit"]

_SQLITE_STEPS = 10_000  # virtual-machine instructions between two looks at the clock


class StatementTimeout(Exception):
    """A statement ran past its bound and the database stopped it."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the query ran longer than {seconds:g} s and was stopped")
        self.seconds = seconds


def _cancelled(exc: DBAPIError) -> bool:
    orig: Any = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        return "interrupted" in str(orig)
    return getattr(orig, "sqlstate", None) == "57014"  # query_canceled


@contextmanager
def statement_limit(conn: Connection, seconds: float | None) -> Iterator[None]:
    """Within the block, stop any statement on ``conn`` that runs longer than ``seconds``
    (``None`` or 0: no bound) and raise :class:`StatementTimeout`. ``conn`` must be in a
    transaction (as :func:`~shared.db.engine.read_scope` gives): the bound ends with it."""
    if not seconds:
        yield
        return
    if conn.dialect.name == "postgresql":
        ms = max(1, int(seconds * 1000))
        # As SET LOCAL, in one round trip: set_config(..., true) lasts to the transaction's end.
        sql = "SELECT set_config('statement_timeout', :limit, true)"
        if (conn.dialect.server_version_info or (0,)) >= (14,):  # the setting's first version
            sql += ", set_config('client_connection_check_interval', :check, true)"
        conn.execute(text(sql), {"limit": str(ms), "check": str(min(ms, 1000))})
        try:
            yield
        except DBAPIError as exc:
            if _cancelled(exc):
                raise StatementTimeout(seconds) from exc
            raise
        return
    raw: Any = conn.connection.driver_connection
    deadline = time.monotonic() + seconds
    raw.set_progress_handler(lambda: int(time.monotonic() > deadline), _SQLITE_STEPS)
    try:
        yield
    except DBAPIError as exc:
        if _cancelled(exc):
            raise StatementTimeout(seconds) from exc
        raise
    finally:
        raw.set_progress_handler(None, 0)
