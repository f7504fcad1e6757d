"""``sluice export``: stored articles as JSONL, CSV or Parquet, to a file or stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sluice.cli.errors import EXIT_USAGE, report
from sluice.cli.output import clean
from sluice.shared.export_names import FORMATS, SCHEMA

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="write stored articles as JSONL, CSV or Parquet",
        description=f"Write stored articles, in id order, with the fields of schema {SCHEMA} "
        "(see docs/export.md). Memory stays flat whatever the number of rows.",
    )
    p.add_argument("--format", choices=FORMATS, help="default: from --output's suffix, else jsonl")
    p.add_argument("--output", "-o", default="-", help="file to write ('-', the default: stdout)")
    p.add_argument("--job", help="only this job's articles")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="published on or after this day")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="published on or before this day")
    p.add_argument("--language", metavar="CODE", help="only this detected language (e.g. en)")
    p.add_argument("--site", help="only this site: its name, or its host")
    p.add_argument(
        "--duplicates",
        choices=("include", "exclude", "only"),
        default="include",
        help="duplicates too (default), none, or only them",
    )
    p.add_argument(
        "--entities",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="include each article's entities (default: leave them out)",
    )
    p.set_defaults(func=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    suffix = Path(args.output).suffix.lower().lstrip(".")
    return {"parquet": "parquet", "pq": "parquet", "csv": "csv"}.get(suffix, "jsonl")


def run(args: argparse.Namespace) -> int:
    from sluice.cli.output import err_console
    from sluice.shared.export import ExportFilter
    from sluice.shared.export_files import write_export

    where = ExportFilter(
        job=args.job,
        since=args.since,
        until=args.until,
        language=args.language,
        site=args.site,
        duplicates=args.duplicates,
    )
    fmt = _format(args)
    if args.output == "-":
        count = write_export(where, fmt, sys.stdout.buffer, with_entities=args.entities)
        sys.stdout.buffer.flush()
    else:
        try:
            with open(args.output, "wb") as out:
                count = write_export(where, fmt, out, with_entities=args.entities)
        except OSError as exc:
            line = f"cannot write {clean(args.output)}: {exc.strerror or exc}"
            return report(args, EXIT_USAGE, "unwritable_file", line)
    err_console.print(f"{count:,} articles written as {fmt} ({SCHEMA})")
    return 0
