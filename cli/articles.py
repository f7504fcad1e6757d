"""``sluice articles list|show``: stored articles, their entities and duplicates."""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from typing import Any

from sluice.cli import search
from sluice.cli.output import clean, cut, json_safe, nothing, print_json, text
from sluice.shared.article import DESCRIPTION_FIELDS

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("articles", help="list, show or search stored articles")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="stored articles, newest first (duplicates included)")
    ls.add_argument("--job", help="only this job's articles")
    ls.add_argument(
        "--limit",
        type=int,
        default=None,
        help="at most N (default: all with --json, read in pages; a page of 100 in the table)",
    )
    ls.add_argument("--after", metavar="ID", help="start after this article (the next page)")
    ls.add_argument("--json", action="store_true", help="a JSON array, streamed page by page")
    ls.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one article with its entities and duplicates")
    show.add_argument("article", metavar="ID_OR_URL")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    search.add_parser(actions)


def _stream_json(rows: Iterator[dict[str, Any]]) -> None:
    """A JSON array written as the rows come, so memory stays one page. The first page is
    read before anything is written: an unreachable store leaves stdout empty."""
    first = next(rows, None)
    out = sys.stdout
    out.write("[")
    for n, row in enumerate(itertools.chain([first] if first else [], rows)):
        line = json.dumps(row, default=str, ensure_ascii=False)
        out.write(("," if n else "") + "\n  " + json_safe(line))
    out.write("\n]\n" if first else "]\n")
    out.flush()


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sluice.cli.output import console, err_console
    from sluice.shared.queries import iter_articles, list_articles

    if args.json:
        if args.after:
            _stream_json(iter(list_articles(args.job, args.limit, args.after)))
        else:
            _stream_json(iter_articles(args.job, args.limit))
        return 0
    limit = args.limit or 100
    rows = list_articles(args.job, limit + 1, args.after)
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        job = f" of job {clean(args.job)}" if args.job else ""
        after = f" after {clean(args.after)}" if args.after else ""
        console.print(nothing(f"no articles{job}{after} stored"))
        return 0
    table = Table()
    for column in ("id", "title", "sitename", "date", "duplicate_of", "similarity"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            text(row["id"]),
            text(cut(row["title"] or "", 70)),
            text(row["sitename"]),
            text(row["date"]),
            text(row["duplicate_of"]),
            "" if row["similarity"] is None else f"{row['similarity']:.3f}",
        )
    console.print(table)
    if more:
        err_console.print(f"more: sluice articles list --after {rows[-1]['id']}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from rich.table import Table
    from rich.text import Text

    from sluice.cli.output import console
    from sluice.shared.queries import get_article

    article = get_article(args.article)
    if article is None:
        from sluice.cli.errors import EXIT_USAGE, report

        return report(args, EXIT_USAGE, "no_such_article", f"no article {clean(args.article)}")
    if args.json:
        print_json(article)
        return 0
    for key in ("id", *DESCRIPTION_FIELDS, "duplicate_of", "similarity"):
        if article.get(key) is not None:
            console.print(Text.assemble((key, "bold"), ": ", text(article[key])))
    if article.get("language_source"):
        console.print(Text.assemble(("language source", "bold"), ": ", article["language_source"]))
    if article.get("entities_skipped"):
        from sluice.shared.reasons import Reason

        reason = Reason(article["entities_skipped"])
        line = (
            f"none ({reason.value}: {reason.description.removeprefix('stored without entities: ')})"
        )
        console.print(Text.assemble(("entities", "bold"), ": ", text(line)))
    console.print()
    body = article["text"][:2000] + ("…" if len(article["text"]) > 2000 else "")
    console.print(text(body, multiline=True))
    if article["entities"]:
        table = Table(title="entities")
        for column in ("text", "label", "start", "end"):
            table.add_column(column)
        for e in article["entities"]:
            table.add_row(text(e["text"]), text(e["label"]), str(e["start"]), str(e["end"]))
        console.print(table)
    if article["duplicates"]:
        table = Table(title=f"duplicates ({len(article['duplicates'])})")
        for column in ("id", "similarity", "url"):
            table.add_column(column)
        for d in article["duplicates"]:
            similarity = "" if d["similarity"] is None else f"{d['similarity']:.3f}"
            table.add_row(text(d["id"]), similarity, text(d["url"]))
        console.print(table)
    return 0
