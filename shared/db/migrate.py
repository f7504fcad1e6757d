"""Bring a database to the newest schema with Alembic, safely from several processes at once."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from sluice.shared.db.engine import get_engine

__all__ = ["alembic_config", "upgrade_database"]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_LOCK_KEY = 0x51_1CE  # any constant shared by every sluice process


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


@contextmanager
def _sqlite_file_lock(database: str) -> Iterator[None]:
    lock_path = Path(database).with_suffix(".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _upgrade(conn: Connection, url: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def upgrade_database(url: str | None = None) -> None:
    """Apply every pending migration to ``url`` (default: the configured database)."""
    engine = get_engine(url)
    url = engine.url.render_as_string(hide_password=False)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with _sqlite_file_lock(parsed.database or "sluice.db"), engine.connect() as conn:
            _upgrade(conn, url)
            conn.commit()
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            _upgrade(conn, url)
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
