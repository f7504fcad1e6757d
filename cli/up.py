"""``sluice up``: the whole stack on one machine, and a demonstration on the sample pages.

Starts (or finds) Redis, brings the database up to date, binds the two into a cluster the
first time (:mod:`shared.cluster_id`; an embedded Valkey it started takes the store's
cluster id, and a Redis or store bound elsewhere is refused), starts workers for every stage
and Flower, serves the sample news site on loopback, submits its feed and one article a
second time, waits for the job and prints what was stored. Then it keeps running until
Ctrl-C, unless ``--demo-only``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from sluice.cli.flower import flower_command
from sluice.cli.output import cut, text
from sluice.cli.services import (
    port_taken,
    start_service,
    stop_services,
    terminal_interrupts_held,
)

if TYPE_CHECKING:
    from rich.table import Table

__all__ = ["STOP_GRACE", "add_parser", "run"]

# Seconds each process (workers, Flower) gets to stop before it is killed: a worker's warm
# shutdown lets its running tasks finish, and a task cut short is redelivered (acks_late).
STOP_GRACE = 10.0
EXIT_PORT_TAKEN = 2  # bad usage or configuration (cli.errors)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "up",
        help="start Redis (embedded if needed), workers and Flower, and run the demo",
        description="Run the whole pipeline on this machine. Needs nothing but Python: when "
        "SLUICE_REDIS_URL is unset and no Redis answers on 127.0.0.1:6379, an embedded "
        "Valkey server is started.",
    )
    p.add_argument("--demo-only", action="store_true", help="stop everything after the demo")
    p.add_argument("--no-demo", action="store_true", help="start the stack, skip the demo")
    p.add_argument("--no-flower", action="store_true", help="do not start Flower")
    p.add_argument("--flower-port", type=int, default=5555)
    p.add_argument(
        "--embedded-redis",
        action="store_true",
        help="start a private embedded Valkey even when SLUICE_REDIS_URL is set or a Redis "
        "answers on 127.0.0.1:6379",
    )
    p.add_argument(
        "--stop-grace",
        type=float,
        default=STOP_GRACE,
        metavar="SECONDS",
        help="on Ctrl-C or SIGTERM, how long each process may take to stop before it is "
        f"killed (default {STOP_GRACE:g}); everything is stopped within about three times this",
    )
    p.set_defaults(func=run)


def _wait_for_queues(timeout: float = 90.0) -> bool:
    from sluice.workers.celery import app
    from sluice.workers.pipeline import STAGES

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = app.control.inspect(timeout=1.0).active_queues() or {}
        served = {q["name"] for queues in replies.values() for q in queues}
        if set(STAGES) <= served:
            return True
        time.sleep(0.5)
    return False


def _summary(job_id: str) -> Table:
    """Every item of the demo job: the final state it reached, why, and its article's title."""
    from rich.table import Table

    from sluice.shared.jobs import list_items
    from sluice.shared.queries import list_articles

    titles = {row["id"]: row["title"] for row in list_articles(job_id, limit=None)}
    table = Table(title=f"the demo's items, each with its final state (job {job_id})")
    for column in ("item", "url", "state", "reason", "duplicate of", "title"):
        table.add_column(column)
    for item in list_items(job_id):
        table.add_row(
            str(item["item_id"]),
            text(cut(item["source"] or "", 48)),
            text(item["state"]),
            text(item["reason"] or ""),
            text(item["duplicate_of"] or ""),
            text(cut(titles.get(item["article_id"]) or "", 40)),
        )
    return table


def _demo() -> int:

    from sluice.cli.output import console
    from sluice.cli.waiting import wait_for_job
    from sluice.producers import expand_feed, submit_urls
    from sluice.shared.demo_site import ARTICLE_PATH, DemoSite

    site = DemoSite().start()
    try:
        urls = expand_feed(site.url("/feed.xml"))  # on the host's turn, like any fetch
        urls.append(site.url(ARTICLE_PATH))  # the same article once more
        job_id = submit_urls(urls, description="sluice up demo")
        console.print(f"demo job [bold]{job_id}[/]: {len(urls)} URLs from {site.url('/feed.xml')}")
        counts, finished = wait_for_job(job_id, timeout=180)
    finally:
        site.stop()
    console.print(_summary(job_id))
    console.print("states: " + ", ".join(f"{k}={v}" for k, v in sorted(counts["states"].items())))
    return 0 if finished and not counts["states"].get("failed") else 1


def _stop_as_interrupted(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops sluice up as Ctrl-C does


def run(args: argparse.Namespace) -> int:
    from sluice.cli.errors import EXIT_CLUSTER, report
    from sluice.cli.output import console
    from sluice.shared.cluster_binding import bind
    from sluice.shared.db import upgrade_database
    from sluice.shared.embedded_redis import resolve_redis_url
    from sluice.shared.settings import get_settings
    from sluice.workers.celery import reconfigure

    if not args.no_flower and port_taken("127.0.0.1", args.flower_port):
        print(
            f"sluice up: port {args.flower_port} (Flower) is taken on 127.0.0.1: stop what "
            "listens there, or choose another with --flower-port",
            file=sys.stderr,
        )
        return EXIT_PORT_TAKEN
    signal.signal(signal.SIGTERM, _stop_as_interrupted)
    data_dir = get_settings().data_dir
    processes: list[subprocess.Popen[bytes]] = []
    embedded = None
    status = 0
    try:
        with terminal_interrupts_held():  # the embedded Valkey stops last, by our hand
            redis_url, embedded = resolve_redis_url(data_dir / "valkey", args.embedded_redis)
        if embedded is None:
            import redis

            from sluice.shared.embedded_redis import redis_answers

            if not redis_answers(redis_url):  # cli.errors turns this into one line, exit 5
                raise redis.ConnectionError("no answer to PING")
        os.environ["SLUICE_REDIS_URL"] = redis_url
        if not args.no_demo:
            # The demo site is on loopback, which the fetcher refuses unless allowed.
            allowed = os.environ.get("SLUICE_FETCH_ALLOW_NETWORKS", "")
            allowed = ",".join(filter(None, [allowed, "127.0.0.1/32"]))
            os.environ["SLUICE_FETCH_ALLOW_NETWORKS"] = allowed
        reconfigure()
        upgrade_database()
        bound = bind(redis_url, get_settings().effective_database_url, redis_is_new=bool(embedded))
        if bound.problem is not None:  # a store or Redis bound elsewhere: never taken over
            return report(args, EXIT_CLUSTER, "cluster_mismatch", bound.problem)
        logs = data_dir / "logs"
        console.print(f"redis: {redis_url}{' (embedded)' if embedded else ''}")
        console.print(f"database: {get_settings().effective_database_url}")
        console.print(f"cluster: {bound.cluster_id}")
        worker = [sys.executable, "-m", "sluice.cli.main", "worker"]
        processes.append(start_service(worker, logs / "workers.log"))
        if not args.no_flower:
            processes.append(
                start_service(flower_command(port=args.flower_port), logs / "flower.log")
            )
            console.print(f"flower: http://127.0.0.1:{args.flower_port}")
        console.print(f"logs: {logs}")
        if not _wait_for_queues():
            console.print("[red]workers did not come up; see the logs")
            return 1
        console.print("workers: fetch, extract, dedup, tag, store are being served")
        if not args.no_demo:
            status = _demo()
        if args.demo_only:
            return status
        console.print("running; press Ctrl-C to stop")
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        console.print("[red]a process stopped on its own; stopping the rest (see the logs)")
        return 1
    finally:  # Ctrl-C too: then cli.errors says "interrupted" and exits 130
        # Stopping is bounded and is not cut short by another Ctrl-C: nothing is left behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if processes:
            from sluice.cli.output import err_console

            err_console.print(f"stopping (each process within {args.stop_grace:g} s)")
        stop_services(processes, args.stop_grace)
        if embedded is not None:
            embedded.stop()
