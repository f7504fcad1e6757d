"""Whether a SQLite store is at the newest migration already, known without Alembic.

Every ``sluice`` command brings a SQLite store up to date before it runs (:mod:`cli.errors`).
Loading Alembic and its migration scripts takes longer than most commands, so the command
first reads the store's ``alembic_version`` with :mod:`sqlite3` and compares it with the
head of the migration files; Alembic runs only when they differ, or when anything is not
as expected (no file yet, no table, a file this reading does not understand).
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path

__all__ = ["head_revisions", "sqlite_is_current"]

VERSIONS = Path(__file__).with_name("migrations") / "versions"
# ``revision = "0007"`` and ``down_revision: str | None = "0006"``, as Alembic writes them.
_ASSIGNMENT = re.compile(
    r"""^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(?:["']([\w-]+)["']|(None))\s*$""",
    re.MULTILINE,
)


def head_revisions(versions: Path = VERSIONS) -> set[str]:
    """The revisions no other migration follows (one, unless branches are unmerged);
    empty when a file cannot be read this way."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        found = {name: value for name, value, _none in _ASSIGNMENT.findall(path.read_text())}
        if "revision" not in found or not found["revision"]:
            return set()
        if "down_revision" not in found:  # a tuple (a merge), or written another way
            return set()
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    return revisions - parents


def sqlite_is_current(url: str) -> bool:
    """Whether the SQLite store at ``url`` (``sqlite:///path``) exists and is at the head."""
    database = url.split("///", 1)[1].split("?", 1)[0] if "///" in url else ""
    if not database or database == ":memory:" or not Path(database).is_file():
        return False
    heads = head_revisions()
    try:
        uri = f"{Path(database).resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True)) as conn:
            stored = {row[0] for row in conn.execute("SELECT version_num FROM alembic_version")}
    except sqlite3.Error:
        return False
    return bool(heads) and stored == heads
