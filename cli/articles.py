"""``sluice articles list|show``: stored articles, their entities and duplicates."""

from __future__ import annotations

import argparse

from rich.table import Table
from rich.text import Text

from cli.output import clean, console, print_json, text
from shared.queries import get_article, list_articles

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("articles", help="list or show stored articles")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="stored articles, newest first (duplicates included)")
    ls.add_argument("--job", help="only this job's articles")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one article with its entities and duplicates")
    show.add_argument("article", metavar="ID_OR_URL")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    rows = list_articles(args.job, args.limit)
    if args.json:
        print_json(rows)
        return 0
    table = Table()
    for column in ("id", "title", "sitename", "date", "duplicate_of", "similarity"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            text(row["id"]),
            text((row["title"] or "")[:70]),
            text(row["sitename"]),
            text(row["date"]),
            text(row["duplicate_of"]),
            "" if row["similarity"] is None else f"{row['similarity']:.3f}",
        )
    console.print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    article = get_article(args.article)
    if article is None:
        from cli.errors import EXIT_USAGE, report

        return report(args, EXIT_USAGE, "no_such_article", f"no article {clean(args.article)}")
    if args.json:
        print_json(article)
        return 0
    for key in (
        "id",
        "url",
        "canonical_url",
        "title",
        "author",
        "date",
        "sitename",
        "language",
        "description",
        "duplicate_of",
        "similarity",
    ):
        if article.get(key) is not None:
            console.print(Text.assemble((key, "bold"), ": ", text(article[key])))
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
