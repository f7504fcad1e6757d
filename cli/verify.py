"""``sluice verify JOB``: prove a job is whole — every submitted item reached a final state."""

from __future__ import annotations

import argparse

from sluice.cli.output import clean, print_json

__all__ = ["add_parser"]

EXIT_INCOMPLETE = 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="check that every item of a job reached exactly one final state",
        description="Exit 0 when every submitted item of JOB has a final state (stored, "
        "duplicate, unchanged, skipped, followed or failed); 1 when some are still pending or "
        "missing.",
    )
    p.add_argument("job")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sluice.cli.output import console
    from sluice.shared.jobs import job_counts, job_exists

    if not job_exists(args.job):
        from sluice.cli.errors import EXIT_USAGE, report

        return report(args, EXIT_USAGE, "no_such_job", f"no job {clean(args.job)}")
    counts = job_counts(args.job)
    whole = counts["final"] == counts["submitted"] and counts["missing"] == 0
    if args.json:
        print_json({**counts, "whole": whole})
    else:
        console.print(
            f"job {args.job}: submitted {counts['submitted']}, final {counts['final']}, "
            f"pending {counts['pending']}, missing {counts['missing']} — "
            + ("[green]whole" if whole else "[red]not whole")
        )
    return 0 if whole else EXIT_INCOMPLETE
