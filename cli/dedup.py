"""``sluice dedup rebuild``: rebuild the Redis dedup index from the stored articles."""

from __future__ import annotations

import argparse

from sluice.cli.output import print_json

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dedup", help="maintain the cluster-wide dedup index")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    rebuild = actions.add_parser(
        "rebuild",
        help="rebuild the Redis dedup index from the store",
        description="Put every stored article back into the Redis dedup index: the claims "
        "on its URLs, and for originals their text fingerprint and near-duplicate entries "
        "(duplicates keep pointing at their originals). The store is the source of truth, so "
        "this recovers from a lost or flushed Redis. Without --clear it only adds what is "
        "missing and is safe while workers run.",
    )
    rebuild.add_argument(
        "--clear",
        action="store_true",
        help="delete the whole index first (needed after changing SLUICE_DEDUP_* settings; "
        "run it with the pipeline idle)",
    )
    rebuild.add_argument("--json", action="store_true", help="print the counts as JSON")
    rebuild.set_defaults(func=run_rebuild)


def run_rebuild(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from sluice.cli.output import console
    from sluice.shared.redis_state import get_redis
    from sluice.workers.dedup.index import DedupIndex
    from sluice.workers.dedup.rebuild import rebuild_index

    index = DedupIndex(get_redis())
    with Progress(console=console, transient=True, disable=args.json) as progress:
        task = progress.add_task("articles", total=None)
        report = rebuild_index(
            index, clear=args.clear, progress=lambda n: progress.advance(task, n)
        )
    if args.json:
        print_json(report.to_dict())
        return 0
    console.print(
        f"rebuilt the dedup index from {report.originals + report.duplicates} stored articles: "
        f"{report.originals} originals, {report.duplicates} duplicates; "
        f"{report.claims_restored} claims restored, {report.claims_kept} already present"
        + (f"; {report.cleared_keys} keys cleared first" if args.clear else "")
    )
    return 0
