"""``sluice status``: where every item of a job (or of all jobs) stands."""

from __future__ import annotations

import argparse

from rich.table import Table

from cli.output import console, print_json
from shared.jobs import job_counts, job_exists
from shared.queries import duplicate_counts
from shared.states import FINAL_STATES, State

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "status",
        help="counts per state for a job, or for everything",
        description="Counts of items per state (and failures per reason). 'missing' counts "
        "submitted items with no recorded state: it should always be 0.",
    )
    p.add_argument("job", nargs="?", help="job id (default: all jobs)")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.job and not job_exists(args.job):
        console.print(f"[red]no job {args.job}")
        return 2
    counts = job_counts(args.job)
    counts["duplicates"] = duplicate_counts(args.job)
    if args.json:
        print_json(counts)
        return 0
    table = Table(title=f"job {args.job}" if args.job else "all jobs")
    table.add_column("state")
    table.add_column("items", justify="right")
    for state in State:
        n = counts["states"].get(state.value, 0)
        if n or state in FINAL_STATES:
            table.add_row(state.value, str(n))
    table.add_section()
    table.add_row("submitted", str(counts["submitted"]))
    table.add_row("final", str(counts["final"]))
    table.add_row("missing", str(counts["missing"]))
    duplicates = counts["duplicates"]
    table.add_section()
    table.add_row("duplicates stored", str(duplicates["total"]))
    table.add_row("  exact (similarity 1)", str(duplicates["exact"]))
    table.add_row("  near (similarity < 1)", str(duplicates["near"]))
    console.print(table)
    if counts["reasons"]:
        reasons = Table(title="failures and duplicates by reason")
        reasons.add_column("reason")
        reasons.add_column("items", justify="right")
        for reason, n in sorted(counts["reasons"].items(), key=lambda kv: -kv[1]):
            reasons.add_row(reason, str(n))
        console.print(reasons)
    return 0
