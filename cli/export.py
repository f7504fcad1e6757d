"""``sluice export``: stored articles as JSONL, CSV or Parquet, to a file or stdout.

A file is written under a temporary name in its directory and renamed when complete
(:mod:`shared.atomic_file`): a killed export never leaves a partial file under the final
name. Stdout that cannot be written (closed, full disk) ends the export with one line.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sluice.cli.dates import day
from sluice.cli.errors import EXIT_FAILED, EXIT_USAGE, report
from sluice.cli.output import clean
from sluice.shared.atomic_file import atomic_output
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
    p.add_argument("--since", type=day, metavar="YYYY-MM-DD", help="published on or after this day")
    p.add_argument(
        "--until", type=day, metavar="YYYY-MM-DD", help="published on or before this day"
    )
    p.add_argument(
        "--language", metavar="CODE", help="only this language, declared or detected (e.g. en)"
    )
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
    p.add_argument(
        "--neutralize-formulas",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="CSV: put a single quote before cells starting with = + - @ tab or CR, so a "
        "spreadsheet shows them instead of running them (default: on; see docs/export.md)",
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
    options = {"with_entities": args.entities, "neutralize_formulas": args.neutralize_formulas}
    if args.output == "-":
        try:
            count = write_export(where, fmt, sys.stdout.buffer, **options)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise  # the reader left (`| head`): quiet, exit 141, as every command (cli.errors)
        except OSError as exc:  # a full disk, say: one line
            _drop_stdout()
            line = f"cannot write stdout: {exc.strerror or exc}"
            return report(args, EXIT_FAILED, "stdout_unwritable", line)
    else:
        try:
            with atomic_output(args.output) as out:
                count = write_export(where, fmt, out, **options)
        except OSError as exc:
            line = f"cannot write {clean(args.output)}: {exc.strerror or exc}"
            return report(args, EXIT_USAGE, "unwritable_file", line)
    err_console.print(f"{count:,} articles written as {fmt} ({SCHEMA})")
    return 0


def _drop_stdout() -> None:
    """Point stdout at the null device, so that what is still buffered for it does not
    raise again as the interpreter exits."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)
