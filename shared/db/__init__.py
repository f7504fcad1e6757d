"""The store: schema, engines and migrations (SQLite by default, PostgreSQL in production)."""

from sluice.shared.db.engine import get_engine, read_scope, session_scope
from sluice.shared.db.migrate import upgrade_database

__all__ = ["get_engine", "read_scope", "session_scope", "upgrade_database"]
