"""``sluice articles search``: stored articles ranked by the store's full-text index."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sluice.cli.errors import EXIT_USAGE, report
from sluice.cli.output import print_json, text

if TYPE_CHECKING:
    from rich.text import Text

    from sluice.shared.search import Hit

__all__ = ["add_parser"]


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = actions.add_parser(
        "search",
        help="full-text search, ranked, with a snippet",
        description='Search stored articles\' titles and texts. Words and "quoted phrases" '
        "are all required. PostgreSQL: tsvector + GIN; SQLite: FTS5.",
    )
    p.add_argument("query")
    p.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="LABEL:TEXT",
        help="only articles with this entity, e.g. ORG:Telegram (repeatable)",
    )
    p.add_argument("--site", help="only this site: its name, or its host")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="published on or after this day")
    p.add_argument("--limit", type=int, default=20, help="at most N results (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _snippet(hit: Hit) -> Text:
    """The snippet with its matches in bold (markers never reach the terminal)."""
    out = text(hit.plain_snippet.replace("\n", " "))
    for start, end in hit.highlights():
        out.stylize("bold yellow", start, end)
    return out


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sluice.cli.output import console
    from sluice.shared.search import SearchQuery, search

    entities = []
    for value in args.entity:
        label, sep, name = value.partition(":")
        if not sep or not label.strip() or not name.strip():
            return report(args, EXIT_USAGE, "usage", f"--entity wants LABEL:TEXT, not {value!r}")
        entities.append((label.strip(), name.strip()))
    query = SearchQuery(
        args.query, tuple(entities), args.site, args.since, max(1, min(args.limit, 1000))
    )
    hits = search(query)
    if args.json:
        print_json([hit.to_dict() for hit in hits])
        return 0
    table = Table()
    for column in ("rank", "id", "title", "site", "published", "snippet"):
        table.add_column(column)
    for hit in hits:
        table.add_row(
            f"{hit.rank:.3f}",
            text(hit.id),
            text((hit.title or "")[:60]),
            text(hit.site),
            text(hit.published),
            _snippet(hit),
        )
    console.print(table)
    return 0
