"""``sluice status``: where every item of a job stands, and what each stage is doing now.

Item counts come from the store. The pipeline part (queue depth, workers, throughput and
time to drain per stage) comes from Redis and from the workers themselves; see
:mod:`cli.pipeline` for how each figure is obtained.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from rich.console import Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from sluice.cli.errors import EXIT_REDIS, mask_url, report
from sluice.cli.output import clean, console, print_json, text
from sluice.shared.jobs import job_counts, job_exists
from sluice.shared.queries import duplicate_counts
from sluice.shared.states import FINAL_STATES, State

__all__ = ["add_parser", "gather", "run"]

EXIT_USAGE = 2  # no such job, or a bad option
FRONTIER_TOP_HOSTS = 10  # hosts with the most URLs waiting, shown by name


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="items per state, and per stage: queue depth, workers, throughput",
        description="Counts of items per state (and failures per reason) for a job or for "
        "everything, and for every stage: messages queued, workers consuming the queue "
        "(and their slots), tasks started per second over up to the last minute, and the "
        "time the queue takes to drain at that pace. 'missing' counts submitted items with "
        "no recorded state: it should always be 0. 'recorded' items were never enqueued: "
        "a submission is still sending them, or was interrupted (sluice submit --resume).",
    )
    p.add_argument("job", nargs="?", help="job id (default: all jobs)")
    p.add_argument("--json", action="store_true", help="print as JSON (one line per refresh)")
    p.add_argument(
        "--watch",
        nargs="?",
        type=float,
        const=2.0,
        default=None,
        metavar="SECONDS",
        help="refresh every SECONDS (default 2) until Ctrl-C",
    )
    p.add_argument(
        "--inspect-timeout",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long workers have to answer (default 1)",
    )
    p.set_defaults(func=run)


def gather(job: str | None, inspect_timeout: float = 1.0) -> dict[str, Any]:
    """Everything ``sluice status`` shows, as one JSON-ready dict."""
    import redis

    from sluice.cli.pipeline import look_at_pipeline
    from sluice.producers.lease import active_submissions
    from sluice.shared.redis_state import get_redis
    from sluice.workers.celery import app
    from sluice.workers.fetching.frontier import Frontier

    counts = job_counts(job)
    counts["duplicates"] = duplicate_counts(job)
    counts["feeds"] = _feeds(job)
    counts["not_enqueued"] = counts["states"].get(State.RECORDED.value, 0)
    counts["enqueueing"] = None
    counts["pipeline"] = None
    counts["frontier"] = None
    client = get_redis()
    try:
        client.ping()
    except redis.RedisError as exc:
        counts["broker_error"] = str(exc)
        return counts
    if job is not None:
        counts["enqueueing"] = active_submissions(client, job) > 0
    counts["pipeline"] = look_at_pipeline(client, app, timeout=inspect_timeout).to_dict()
    counts["frontier"] = Frontier(client).stats(FRONTIER_TOP_HOSTS).to_dict()
    return counts


def _feeds(job: str | None) -> dict[str, Any] | None:
    """The feeds' schedule (all jobs only, and only when feeds are registered)."""
    import redis

    from sluice.shared.feeds import now, schedule_figures

    if job is not None:
        return None
    try:
        at = now()
    except redis.RedisError:  # the schedule runs on the cluster's clock, Redis's
        return None
    figures = schedule_figures(at)
    return figures.to_dict() if any(figures.states.values()) else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


def _items_table(counts: dict[str, Any]) -> Table:
    job = counts["job"]
    table = Table(title=Text("job " + clean(job)) if job else "all jobs")
    table.add_column("state")
    table.add_column("items", justify="right")
    for state in State:
        n = counts["states"].get(state.value, 0)
        if n or state in FINAL_STATES:
            table.add_row(state.value, f"{n:,}")
    table.add_section()
    table.add_row("submitted", f"{counts['submitted']:,}")
    table.add_row("final", f"{counts['final']:,}")
    table.add_row("missing", f"{counts['missing']:,}")
    duplicates = counts["duplicates"]
    table.add_section()
    table.add_row("duplicates stored", str(duplicates["total"]))
    table.add_row("  exact (similarity 1)", str(duplicates["exact"]))
    table.add_row("  near (similarity < 1)", str(duplicates["near"]))
    return table


def _reasons_table(reasons: dict[str, int]) -> Table:
    table = Table(title="failures and duplicates by reason")
    table.add_column("reason")
    table.add_column("items", justify="right")
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        table.add_row(text(reason), f"{n:,}")
    return table


def _pipeline_table(pipeline: dict[str, Any]) -> Table:
    window = pipeline["throughput_window_s"]
    caption = (
        f"throughput over the last {window:.0f} s"
        if window is not None
        else "throughput: first look, run again (or --watch) to measure it"
    )
    table = Table(title="pipeline", caption=caption)
    for column in ("stage", "queued", "workers", "slots", "tasks/s", "drains in"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage, view in pipeline["stages"].items():
        rate = view["throughput_per_s"]
        stalled = view["queued"] and view["workers"] == 0
        table.add_row(
            stage,
            f"{view['queued']:,}",
            Text(str(view["workers"]), style="red" if stalled else ""),
            str(view["slots"]),
            "—" if rate is None else f"{rate:.1f}",
            "no workers" if stalled else _duration(view["drain_s"]),
        )
    return table


def _frontier_table(frontier: dict[str, Any]) -> Table:
    """The crawl frontier: URLs waiting for their host's turn (all jobs)."""
    oldest = frontier["oldest_wait_seconds"]
    table = Table(
        title="frontier (URLs waiting for their host's turn, all jobs)",
        caption=(
            f"{frontier['items']:,} URLs: {frontier['in_flight']:,} in flight, "
            f"{frontier['delayed']:,} waiting to retry; {frontier['hosts']:,} hosts waiting, "
            f"{frontier['due_now']:,} due now; oldest {_duration(oldest)}"
        ),
    )
    table.add_column("host")
    table.add_column("waiting", justify="right")
    for row in frontier["top_hosts"]:
        table.add_row(text(row["host"] or "(no host)"), f"{row['waiting']:,}")
    return table


def _feeds_table(feeds: dict[str, Any]) -> Table:
    """Registered feeds per state, and where their polls stand (`sluice feeds list` names
    them)."""
    table = Table(title="feeds")
    table.add_column("")
    table.add_column("feeds", justify="right")
    for state, n in feeds["states"].items():
        table.add_row(state, f"{n:,}")
    table.add_row("being polled", f"{feeds['polling']:,}")
    table.add_row("due now", f"{feeds['due_now']:,}")
    table.add_row("most overdue", _duration(feeds["most_overdue_seconds"]))
    return table


def _not_enqueued_note(counts: dict[str, Any]) -> Text | None:
    n = counts["not_enqueued"]
    if not n:
        return None
    if counts["enqueueing"]:
        return Text(f"{n:,} items recorded, still being enqueued by a running submission")
    resume = f"sluice submit --resume {counts['job'] or 'JOB'}"
    return Text.assemble(
        (f"{n:,} items recorded but never enqueued", "yellow"),
        f" (an interrupted submission): {resume}",
    )


def render(counts: dict[str, Any]) -> RenderableType:
    """The tables ``sluice status`` prints."""
    parts: list[RenderableType] = [_items_table(counts)]
    if counts["reasons"]:
        parts.append(_reasons_table(counts["reasons"]))
    note = _not_enqueued_note(counts)
    if note is not None:
        parts.append(note)
    if counts["pipeline"] is not None:
        parts.append(_pipeline_table(counts["pipeline"]))
        if counts.get("frontier") and counts["frontier"]["items"]:
            parts.append(_frontier_table(counts["frontier"]))
    else:
        parts.append(text(f"pipeline: Redis unreachable ({counts.get('broker_error')})", "red"))
    if counts.get("feeds"):
        parts.append(_feeds_table(counts["feeds"]))
    return Group(*parts)


def _watch(args: argparse.Namespace) -> int:
    try:
        if args.json:
            while True:
                sys.stdout.write(json.dumps(gather(args.job, args.inspect_timeout), default=str))
                sys.stdout.write("\n")
                sys.stdout.flush()
                time.sleep(args.watch)
        with Live(console=console, auto_refresh=False) as live:
            while True:
                counts = gather(args.job, args.inspect_timeout)
                stamp = Text(time.strftime("%H:%M:%S") + f"  every {args.watch:g} s, Ctrl-C stops")
                live.update(Group(stamp, render(counts)), refresh=True)
                time.sleep(args.watch)
    except KeyboardInterrupt:
        return 0


def run(args: argparse.Namespace) -> int:
    if args.job and not job_exists(args.job):
        return report(args, EXIT_USAGE, "no_such_job", f"no job {args.job}")
    if args.watch is not None:
        if args.watch <= 0:
            return report(args, EXIT_USAGE, "usage", "--watch takes a positive number of seconds")
        return _watch(args)
    counts = gather(args.job, args.inspect_timeout)
    if args.json:
        print_json(counts)
    else:
        console.print(render(counts))
    if counts.get("broker_error"):
        from sluice.shared.settings import get_settings

        url = mask_url(get_settings().redis_url)
        return report(args, EXIT_REDIS, "redis_unreachable", f"Redis unreachable at {url}")
    return 0
