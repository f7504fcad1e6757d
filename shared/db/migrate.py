"""Bring a database to the newest schema with Alembic, safely from several processes at once."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from sluice.shared.db.engine import get_engine

__all__ = ["Migration", "alembic_config", "upgrade_database"]

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


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration: its revision id and what it does (its docstring's first line)."""

    revision: str
    doc: str


def _pending(conn: Connection, config: Config) -> list[Migration]:
    """The migrations not applied yet to the database of ``conn``, oldest first."""
    script = ScriptDirectory.from_config(config)
    current = MigrationContext.configure(conn).get_current_heads()
    lower = current[0] if len(current) == 1 else ("base" if not current else None)
    if lower is None:  # several heads applied: leave the order to Alembic, name them all
        return []
    pending = list(script.iterate_revisions("heads", lower))
    pending.reverse()
    return [Migration(r.revision, " ".join((r.doc or "").split())) for r in pending]


def _upgrade(conn: Connection, url: str) -> list[Migration]:
    config = alembic_config(url)
    config.attributes["connection"] = conn
    pending = _pending(conn, config)
    command.upgrade(config, "head")
    return pending


def upgrade_database(url: str | None = None) -> list[Migration]:
    """Apply every pending migration to ``url`` (default: the configured database); returns
    those it applied, oldest first (none: it was up to date)."""
    engine = get_engine(url)
    url = engine.url.render_as_string(hide_password=False)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with _sqlite_file_lock(parsed.database or "sluice.db"), engine.connect() as conn:
            applied = _upgrade(conn, url)
            conn.commit()
        return applied
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
        conn.commit()
        try:
            applied = _upgrade(conn, url)
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
    return applied
