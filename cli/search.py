"""``sluice articles search``: stored articles ranked by the store's full-text index."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sluice.cli.dates import day
from sluice.cli.errors import EXIT_FAILED, EXIT_USAGE, report
from sluice.cli.output import clean, cut, nothing, print_json, text

if TYPE_CHECKING:
    from rich.text import Text

    from sluice.shared.search import Hit

__all__ = ["add_parser"]


def add_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = actions.add_parser(
        "search",
        help="full-text search, ranked, with a snippet",
        description='Search stored articles\' titles and texts. Words and "quoted phrases" '
        "are all required. PostgreSQL: tsvector + GIN; SQLite: FTS5. A query holds at most "
        "SLUICE_SEARCH_MAX_TERMS words and SLUICE_SEARCH_MAX_CHARS characters (exit 2 beyond) "
        "and is stopped after SLUICE_SEARCH_TIMEOUT seconds (exit 1).",
    )
    p.add_argument("query")
    p.add_argument(
        "--entity",
        action="append",
        default=[],
        metavar="LABEL:TEXT",
        help="only articles with this entity, e.g. ORG:Telegram (repeatable; PERSON also "
        "finds PER, GPE also finds LOC, as other languages' pipelines label them)",
    )
    p.add_argument("--language", metavar="CODE", help="only articles in this language (e.g. fr)")
    p.add_argument("--site", help="only this site: its name, or its host")
    p.add_argument("--since", type=day, metavar="YYYY-MM-DD", help="published on or after this day")
    p.add_argument("--limit", type=int, default=20, help="at most N results (default 20)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _snippet(hit: Hit) -> Text:
    """The snippet with its matches in bold (markers never reach the terminal)."""
    out = text(hit.plain_snippet.replace("\n", " "))
    for start, end in hit.highlights():
        out.stylize("bold yellow", start, end)
    return out


def _filters(args: argparse.Namespace) -> str:
    """The filters of a search, as a phrase to say what found nothing."""
    named = [f"--entity {e}" for e in args.entity]
    named += [
        f"--{name} {getattr(args, name)}" for name in ("site", "since") if getattr(args, name)
    ]
    return f" with {clean(' '.join(named))}" if named else ""


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sluice.cli.output import console
    from sluice.shared.search import QueryTooLarge, SearchQuery, StatementTimeout, search

    entities = []
    for value in args.entity:
        label, sep, name = value.partition(":")
        if not sep or not label.strip() or not name.strip():
            return report(args, EXIT_USAGE, "usage", f"--entity wants LABEL:TEXT, not {value!r}")
        entities.append((label.strip(), name.strip()))
    query = SearchQuery(
        args.query,
        tuple(entities),
        args.site,
        args.since,
        max(1, min(args.limit, 1000)),
        language=args.language,
    )
    try:
        hits = search(query)
    except QueryTooLarge as exc:
        return report(args, EXIT_USAGE, "query_too_large", clean(str(exc)))
    except StatementTimeout as exc:
        return report(args, EXIT_FAILED, "search_timeout", f"{exc}; narrow the query")
    if args.json:
        print_json([hit.to_dict() for hit in hits])
        return 0
    if not hits:
        console.print(nothing(f"no stored article matches {clean(args.query)!r}{_filters(args)}"))
        return 0
    table = Table()
    for column in ("rank", "id", "title", "site", "published", "snippet"):
        table.add_column(column)
    for hit in hits:
        table.add_row(
            f"{hit.rank:.3f}",
            text(hit.id),
            text(cut(hit.title or "", 60)),
            text(hit.site),
            text(hit.published),
            _snippet(hit),
        )
    console.print(table)
    return 0
