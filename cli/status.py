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
from typing import TYPE_CHECKING, Any

from sluice.cli.errors import EXIT_REDIS, mask_url, report
from sluice.cli.output import cut, print_json, text
from sluice.shared.states import FINAL_STATES, State

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

__all__ = ["add_parser", "gather", "run"]

EXIT_USAGE = 2  # no such job, or a bad option
FRONTIER_TOP_HOSTS = 10  # hosts with the most URLs waiting, named in --json
SHOWN_HOSTS = 5  # ... and in the table, which must fit a screen with the rest
SHOWN_REASONS = 6


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "status",
        help="items per state, and per stage: queue depth, workers, throughput",
        description="Counts of items per state (and failures per reason) for a job or for "
        "everything, and for every stage: messages queued, workers consuming the queue "
        "(and their slots), tasks started per second over up to the last minute, and the "
        "time the queue takes to drain at that pace. 'missing' counts submitted items with "
        "no recorded state: it should always be 0. 'recorded' items were never enqueued: "
        "a submission is still sending them, or was interrupted (sluice submit --resume). "
        "A site crawl's job (submit --crawl) adds its pages fetched, articles stored, hubs "
        "followed, links found and left per reason, and its seen set's size.",
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
    from sluice.shared.jobs import job_counts
    from sluice.shared.queries import duplicate_counts, language_counts
    from sluice.shared.redis_state import get_redis
    from sluice.workers.celery import app
    from sluice.workers.fetching.frontier import Frontier

    counts = job_counts(job)
    counts["duplicates"] = duplicate_counts(job)
    counts["articles"] = language_counts(job)
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
        counts["crawl"] = _crawl(client, job, counts)
    frontier = Frontier(client).stats(FRONTIER_TOP_HOSTS)
    waiting = frontier.items - frontier.in_flight  # in flight: sent to the fetch queue
    counts["pipeline"] = look_at_pipeline(
        client, app, timeout=inspect_timeout, frontier_waiting=waiting
    ).to_dict()
    counts["frontier"] = frontier.to_dict()
    counts["frontier"]["waits"] = _host_waits(client)
    return counts


def _crawl(client: Any, job: str, counts: dict[str, Any]) -> dict[str, Any] | None:
    """A site crawl's figures (:mod:`workers.crawl.figures`); None for other jobs."""
    from sluice.shared.jobs import job_crawl
    from sluice.workers.crawl.figures import crawl_figures

    if job_crawl(job) is None:
        return None
    return crawl_figures(client, job, counts)


def _crawl_table(crawl: dict[str, Any]) -> Table:
    from rich.table import Table

    table = Table(title="site crawl")
    table.add_column("")
    table.add_column("n", justify="right")
    for name in (
        "pages_fetched",
        "articles_stored",
        "hubs_followed",
        "links_discovered",
        "links_followed",
        "links_out_of_scope",
        "seen_urls",
        "waiting_in_store",
    ):
        table.add_row(name.replace("_", " "), f"{crawl[name]:,}")
    dropped = {reason: n for reason, n in crawl["links_dropped"].items() if n}
    if dropped:
        table.add_section()
        for reason, n in dropped.items():
            table.add_row(f"links left: {reason}", f"{n:,}")
    return table


def _host_waits(client: Any) -> dict[str, Any]:
    """Why hosts wait (:mod:`workers.fetching.waits`): hosts per reason, the longest waits."""
    from sluice.workers.fetching.waits import host_waits

    return host_waits(client, top=FRONTIER_TOP_HOSTS).to_dict()


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
    from rich.table import Table
    from rich.text import Text

    job = counts["job"]
    table = Table(title=Text("job " + cut(job, 30)) if job else "all jobs")
    table.add_column("state")
    table.add_column("items", justify="right")
    for state in State:
        n = counts["states"].get(state.value, 0)
        # Final states show even at 0, but for a crawl's hubs: only site crawls have them,
        # and the screen must fit 40 lines.
        if n or (state in FINAL_STATES and state is not State.FOLLOWED):
            table.add_row(state.value, f"{n:,}")
    table.add_section()
    table.add_row("submitted", f"{counts['submitted']:,}")
    table.add_row("final", f"{counts['final']:,}")
    table.add_row("missing", f"{counts['missing']:,}")
    duplicates = counts["duplicates"]
    table.add_row(
        "duplicates stored",
        f"{duplicates['total']:,} ({duplicates['exact']:,} exact, {duplicates['near']:,} near)",
    )
    return table


def _reasons_table(reasons: dict[str, int]) -> Table:
    from rich.table import Table

    table = Table(title="reasons")
    table.add_column("reason")
    table.add_column("items", justify="right")
    ranked = sorted(reasons.items(), key=lambda kv: -kv[1])
    shown = ranked if len(ranked) <= SHOWN_REASONS else ranked[: SHOWN_REASONS - 1]
    for reason, n in shown:
        table.add_row(text(cut(reason, 28)), f"{n:,}")
    if len(shown) < len(ranked):
        rest = ranked[len(shown) :]
        table.add_row(f"{len(rest)} other reasons", f"{sum(n for _, n in rest):,}", style="dim")
    return table


def _languages_table(articles: dict[str, dict[str, int]]) -> Table:
    """Stored articles per language, and those without entities per reason."""
    from rich.table import Table

    table = Table(title="stored articles by language")
    table.add_column("language")
    table.add_column("articles", justify="right")
    for language, n in sorted(articles["languages"].items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(text(language), f"{n:,}")
    if articles["entities_skipped"]:
        table.add_section()
        for reason, n in sorted(articles["entities_skipped"].items()):
            table.add_row(text(f"without entities: {reason}"), f"{n:,}")
    return table


def _pipeline_table(pipeline: dict[str, Any]) -> Table:
    from rich.table import Table
    from rich.text import Text

    window = pipeline["throughput_window_s"]
    caption = (
        f"tasks/s over the last {window:.0f} s"
        if window is not None
        else "tasks/s: measured from the next look (or --watch)"
    )
    fetch = pipeline["stages"].get("fetch")
    if fetch and fetch.get("frontier"):
        caption += (
            f"\nfetch backlog: {fetch['queued']:,} queued + {fetch['frontier']:,} in the frontier"
        )
    table = Table(title="pipeline", caption=caption)
    for column in ("stage", "backlog", "workers", "slots", "tasks/s", "drains in"):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for stage, view in pipeline["stages"].items():
        rate = view["throughput_per_s"]
        backlog = view["queued"] + view.get("frontier", 0)
        stalled = backlog and view["workers"] == 0
        table.add_row(
            stage,
            f"{backlog:,}",
            Text(str(view["workers"]), style="red" if stalled else ""),
            str(view["slots"]),
            "—" if rate is None else f"{rate:.1f}",
            "no workers" if stalled else _duration(view["drain_s"]),
        )
    return table


def _frontier_table(frontier: dict[str, Any]) -> Table:
    """The crawl frontier: URLs waiting for their host's turn (all jobs), the busiest hosts
    by name."""
    from rich.table import Table

    table = Table(title="frontier (all jobs)")
    table.add_column("URLs waiting at")
    table.add_column("", justify="right")
    waiting = frontier["items"] - frontier["in_flight"]
    table.add_row("all hosts", f"{waiting:,}")
    table.add_row("  of which to retry later", f"{frontier['delayed']:,}")
    table.add_row("hosts (due now)", f"{frontier['hosts']:,} ({frontier['due_now']:,})")
    table.add_row(
        "in flight, oldest wait",
        f"{frontier['in_flight']:,}, " + _duration(frontier["oldest_wait_seconds"]),
    )
    table.add_section()
    hosts = frontier["top_hosts"]
    for row in hosts[:SHOWN_HOSTS]:
        table.add_row(text(cut(row["host"] or "(no host)", 32)), f"{row['waiting']:,}")
    if frontier["hosts"] > min(len(hosts), SHOWN_HOSTS):
        table.add_row(f"{frontier['hosts'] - min(len(hosts), SHOWN_HOSTS):,} more hosts", "")
    return table


def _waits_line(waits: dict[str, Any]) -> Text:
    """Why hosts wait for their turn, in two lines at most: hosts per reason, then the
    longest wait of each reason (``--json`` has the whole list)."""
    counted = {reason: n for reason, n in waits["hosts_by_reason"].items() if n}
    summary = ", ".join(f"{n:,} {reason}" for reason, n in counted.items()) or "none"
    more = "" if waits["complete"] else f" (of the first {waits['hosts_counted']:,})"
    longest: dict[str, str] = {}
    for row in waits["longest"]:
        longest.setdefault(row["reason"], f"{row['host']} {_duration(row['seconds_left'])}")
    shown = "; ".join(f"{reason}: {cut(where, 48)}" for reason, where in longest.items())
    return text(f"hosts waiting, and why{more}: {summary}\nlongest: {shown}", multiline=True)


def _feeds_table(feeds: dict[str, Any]) -> Table:
    """Registered feeds per state, and where their polls stand (`sluice feeds list` names
    them)."""
    from rich.table import Table

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
    from rich.text import Text

    n = counts["not_enqueued"]
    if not n:
        return None
    if counts["enqueueing"]:
        return Text(f"{n:,} items recorded, still being enqueued by a running submission")
    if counts.get("crawl"):
        return Text(
            f"{n:,} found URLs wait in the store for room in the frontier: the fetch workers "
            "send them as the queues drain"
        )
    resume = f"sluice submit --resume {counts['job'] or 'JOB'}"
    return Text.assemble(
        (f"{n:,} items recorded but never enqueued", "yellow"),
        f" (an interrupted submission): {resume}",
    )


def _side_by_side(*parts: RenderableType) -> RenderableType:
    """Tables next to each other, tops aligned: a screen of 40 lines holds them all."""
    if len(parts) == 1:
        return parts[0]
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    for _ in parts:
        grid.add_column(vertical="top")
    grid.add_row(*parts)
    return grid


def render(counts: dict[str, Any]) -> RenderableType:
    """The tables ``sluice status`` prints: the job's items, with its reasons and the feeds
    beside them; the pipeline with the frontier beside it. They fit 40 lines of 120."""
    from rich.console import Group

    top: list[RenderableType] = [_items_table(counts)]
    if counts["reasons"]:
        top.append(_reasons_table(counts["reasons"]))
    if counts.get("feeds"):
        top.append(_feeds_table(counts["feeds"]))
    if counts.get("articles") and counts["articles"]["languages"]:
        top.append(_languages_table(counts["articles"]))
    if counts.get("crawl"):
        top.append(_crawl_table(counts["crawl"]))
    parts: list[RenderableType] = [_side_by_side(*top)]
    note = _not_enqueued_note(counts)
    if note is not None:
        parts.append(note)
    if counts["pipeline"] is not None:
        bottom: list[RenderableType] = [_pipeline_table(counts["pipeline"])]
        if counts.get("frontier") and counts["frontier"]["items"]:
            bottom.append(_frontier_table(counts["frontier"]))
        parts.append(_side_by_side(*bottom))
        if counts["frontier"] and counts["frontier"].get("waits", {}).get("hosts_counted"):
            parts.append(_waits_line(counts["frontier"]["waits"]))
    else:
        parts.append(text(f"pipeline: Redis unreachable ({counts.get('broker_error')})", "red"))
    return Group(*parts)


def _watch(args: argparse.Namespace) -> int:
    """Until Ctrl-C, which ends it as it ends any command (cli.errors: exit 130)."""
    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from sluice.cli.output import console

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


def run(args: argparse.Namespace) -> int:
    from sluice.shared.jobs import job_exists

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
        from sluice.cli.output import console

        console.print(render(counts))
    if counts.get("broker_error"):
        from sluice.shared.settings import get_settings

        url = mask_url(get_settings().redis_url)
        return report(args, EXIT_REDIS, "redis_unreachable", f"Redis unreachable at {url}")
    return 0
