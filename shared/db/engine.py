"""Database engines, one per process and URL, and a transaction helper.

Engines are created lazily and keyed by process id, so a Celery prefork child never reuses
a connection pool inherited from its parent.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

__all__ = ["get_engine", "insert_for", "read_scope", "session_scope"]

_engines: dict[tuple[int, str], Engine] = {}

# Writers from many worker processes share one SQLite file: WAL lets readers go on while one
# writes, and a long busy timeout makes writers queue instead of failing with "locked".
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=60000",
    "PRAGMA foreign_keys=ON",
)


def _on_sqlite_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # Take transaction control from the sqlite3 module so that _on_sqlite_begin decides.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    # A deferred transaction that reads and then writes can fail at once with "database is
    # locked" when another process writes; BEGIN IMMEDIATE waits for the lock up front instead.
    if conn.get_execution_options().get("readonly"):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: the configured database) in this process."""
    if url is None:
        from sluice.shared.settings import get_settings

        url = get_settings().effective_database_url
    key = (os.getpid(), url)
    engine = _engines.get(key)
    if engine is None:
        engine = _create_engine(url)
        _engines[key] = engine
    return engine


def _create_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # hide_parameters: a database error is logged and retried; its message must not
        # carry the article's URL or text.
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5, hide_parameters=True)


def insert_for(conn: Connection, table: Table) -> Any:
    """An INSERT that supports ``on_conflict_do_*`` on this connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Connection]:
    """A connection inside one transaction: committed on success, rolled back on error."""
    with get_engine(url).begin() as conn:
        yield conn


@contextmanager
def read_scope(url: str | None = None) -> Iterator[Connection]:
    """A connection for reading only (on SQLite it does not take the write lock)."""
    with get_engine(url).connect() as conn:
        conn = conn.execution_options(readonly=True)
        with conn.begin():
            yield conn
