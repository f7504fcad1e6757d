"""``sluice articles list|show``: stored articles, their entities and duplicates."""

from __future__ import annotations

import argparse

from rich.table import Table

from cli.output import console, print_json
from shared.queries import get_article, list_articles

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
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
            row["id"],
            (row["title"] or "")[:70],
            row["sitename"] or "",
            row["date"] or "",
            row["duplicate_of"] or "",
            "" if row["similarity"] is None else f"{row['similarity']:.3f}",
        )
    console.print(table)
    return 0


def run_show(args: argparse.Namespace) -> int:
    article = get_article(args.article)
    if article is None:
        console.print(f"[red]no article {args.article}")
        return 2
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
            console.print(f"[bold]{key}[/]: {article[key]}")
    console.print()
    console.print(article["text"][:2000] + ("…" if len(article["text"]) > 2000 else ""))
    if article["entities"]:
        table = Table(title="entities")
        for column in ("text", "label", "start", "end"):
            table.add_column(column)
        for e in article["entities"]:
            table.add_row(e["text"], e["label"], str(e["start"]), str(e["end"]))
        console.print(table)
    if article["duplicates"]:
        table = Table(title=f"duplicates ({len(article['duplicates'])})")
        for column in ("id", "similarity", "url"):
            table.add_column(column)
        for d in article["duplicates"]:
            similarity = "" if d["similarity"] is None else f"{d['similarity']:.3f}"
            table.add_row(d["id"], similarity, d["url"] or "")
        console.print(table)
    return 0
