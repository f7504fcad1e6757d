"""The store: schema, engines and migrations (SQLite by default, PostgreSQL in production).

``upgrade_database`` (Alembic) is loaded on first use: reading the store needs no Alembic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sluice.shared.db.engine import get_engine, read_scope, session_scope

if TYPE_CHECKING:
    from sluice.shared.db.migrate import upgrade_database

__all__ = ["get_engine", "read_scope", "session_scope", "upgrade_database"]


def __getattr__(name: str) -> Any:
    if name == "upgrade_database":
        from sluice.shared.db.migrate import upgrade_database

        return upgrade_database
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
