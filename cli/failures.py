"""``sluice failures list|retry``: the dead-letter store, and handing items back."""

from __future__ import annotations

import argparse

from sluice.cli.output import clean, cut, nothing, print_json, text

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "failures",
        help="list failed items or retry them",
        description="Every item that ended 'failed' is kept with its stage, reason, last "
        "error and payload. 'retry' puts items back at the stage where they failed.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = actions.add_parser("list", help="failed items, newest first")
    ls.add_argument("--reason", help="only this reason code, e.g. http_404")
    ls.add_argument("--stage", help="only failures at this stage")
    ls.add_argument("--job", help="only this job")
    ls.add_argument("--all", action="store_true", help="include failures already retried")
    ls.add_argument("--limit", type=int, default=100)
    ls.add_argument(
        "--reasons", action="store_true", help="list every reason code and what it means"
    )
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    retry = actions.add_parser("retry", help="re-enqueue failed items at their stage")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="failure ids")
    retry.add_argument("--reason", help="every pending failure with this reason")
    retry.add_argument("--stage", help="every pending failure at this stage")
    retry.add_argument("--job", help="every pending failure of this job")
    retry.add_argument("--json", action="store_true")
    retry.set_defaults(func=run_retry)


def reason_table() -> list[tuple[str, str]]:
    """Every reason code an item can end with, and what it means."""
    from sluice.shared.reasons import HTTP_REASON_DESCRIPTION, Reason

    return [(r.value, r.description) for r in Reason] + [("http_<status>", HTTP_REASON_DESCRIPTION)]


def _print_reasons(as_json: bool) -> int:
    from rich.table import Table

    from sluice.cli.output import console

    rows = reason_table()
    if as_json:
        print_json([{"reason": code, "meaning": meaning} for code, meaning in rows])
        return 0
    table = Table()
    table.add_column("reason")
    table.add_column("meaning")
    for code, meaning in rows:
        table.add_row(code, meaning)
    console.print(table)
    return 0


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sluice.cli.output import console
    from sluice.shared.failures import list_failures

    if args.reasons:
        return _print_reasons(args.json)
    rows = list_failures(
        args.reason, args.stage, args.job, pending_only=not args.all, limit=args.limit
    )
    if args.json:
        print_json(
            [
                {
                    "id": f.id,
                    "job": f.job_id,
                    "item": f.item_id,
                    "stage": f.stage,
                    "reason": f.reason,
                    "error": f.error,
                    "attempts": f.attempts,
                    "payload": f.payload,
                    "created_at": f.created_at,
                    "retried_at": f.retried_at,
                }
                for f in rows
            ]
        )
        return 0
    if not rows:
        chosen = [
            f"--{k} {clean(getattr(args, k))}"
            for k in ("reason", "stage", "job")
            if getattr(args, k)
        ]
        which = f" matching {' '.join(chosen)}" if chosen else ""
        waiting = "" if args.all else " waiting to be retried (--all shows retried ones too)"
        console.print(nothing(f"no failures{which}{waiting}"))
        return 0
    table = Table()
    for column in ("id", "job", "item", "stage", "reason", "attempts", "error"):
        table.add_column(column)
    for f in rows:
        table.add_row(
            str(f.id),
            text(f.job_id),
            str(f.item_id),
            text(f.stage),
            text(f.reason),
            str(f.attempts),
            text(cut(f.error or "", 80)),
        )
    console.print(table)
    return 0


def run_retry(args: argparse.Namespace) -> int:
    from sluice.cli.output import console
    from sluice.shared.article import label_of
    from sluice.shared.failures import list_failures, reopen_failures
    from sluice.workers.recovery.attempts import Attempts
    from sluice.workers.routing import publish

    if not (args.ids or args.reason or args.stage or args.job):
        from sluice.cli.errors import EXIT_USAGE, report

        line = "say which failures: IDs, --reason, --stage or --job"
        return report(args, EXIT_USAGE, "usage", line)
    selected = list_failures(args.reason, args.stage, args.job, ids=args.ids or None)
    reopened = reopen_failures(selected)
    for failure in reopened:
        Attempts(failure.job_id, failure.item_id, failure.stage).done()
        payload = dict(failure.payload)
        publish(
            failure.stage, payload, label_of(failure.job_id, failure.item_id, payload.get("id"))
        )
    if args.json:
        print_json({"retried": [f.id for f in reopened]})
    else:
        console.print(f"re-enqueued {len(reopened)} item(s)")
    return 0
