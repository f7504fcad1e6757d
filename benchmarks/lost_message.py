"""How long a lost message costs under continuous load: from loss to resend, and to final.

    python -m benchmarks.lost_message [--lost N] [--lease SECONDS] [--json FILE] ...

A fetch worker and a CPU worker (extract, dedup, tag, store) run against a Redis database
reserved for the run and a fresh store; pages from local web servers on ``--hosts``
loopback addresses (one request in flight per host, so several hosts keep fetch ahead of
the CPU worker) are submitted, and more every ``--every`` seconds while fewer than
``--ceiling`` wait, so the queues after fetch never empty (nor grow past what the workers
keep up with). The losses begin once ``2 × --lost`` messages wait, or after ``--settle``
seconds with whatever waits then (printed as ``backlog_at_first_loss``). Then ``--lost``
extract messages are taken off their queue one by one, as a consumer killed between
kombu's ``BRPOP`` and its ``unacked`` record would lose them (``RPOP``). Each item is
followed in the store: the time from its loss to its first write (the reconciler sending
it on) and to its final state, both on the store's clock.

The last lines printed are ``loss -> resend`` and ``loss -> final``, p50 and p95 in seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import redis

from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import get_engine
from tests.faults.conftest import article_html
from tests.support.cluster import Cluster
from tests.support.lost_messages import Feeder, backlog, take_messages, watch
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database
from tests.support.web import Response, WebServer

__all__ = ["main"]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _run(args: argparse.Namespace, redis_url: str, database_url: str, work: Path) -> dict:
    upgrade_database(database_url)
    env = {
        "SLUICE_ITEM_LEASE": str(args.lease),
        "SLUICE_FETCH_HOST_RATE": "0",
        "SLUICE_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "SLUICE_FETCH_CONCURRENCY": "8",
    }
    cluster = Cluster(redis_url, database_url, work, env)
    engine = get_engine(database_url)
    client = redis.Redis.from_url(redis_url)
    webs = [WebServer(f"127.0.0.{2 + k}") for k in range(args.hosts)]
    pages = iter(range(10**9))

    def submit(_batch: int, size: int = args.batch) -> None:
        urls = [
            webs[n % len(webs)].route(f"/bench/{n}.html", Response(body=article_html(n)))
            for n in (next(pages) for _ in range(size))
        ]
        cluster.sluice("submit", "-f", "-", stdin="\n".join(urls))

    feeder = Feeder(submit, every=args.every, waiting=lambda: backlog(client), ceiling=args.ceiling)
    lost = []
    at_first_loss = -1
    try:
        cluster.start_worker("--stages", "fetch", "--name", "fetch")
        cluster.start_worker("--stages", "extract,dedup,tag,store", "--name", "cpu")
        cluster.wait_ready()
        submit(0, size=args.first)
        feeder.start()
        settled = time.monotonic() + args.settle
        while backlog(client) < args.lost * 2 and time.monotonic() < settled:
            time.sleep(0.1)
        at_first_loss = backlog(client)
        for _ in range(args.lost):  # one at a time, spread over the run
            lost += take_messages(client, engine, "extract", 1)
            time.sleep(args.spread)
        watch(engine, client, lost, timeout=args.timeout)
    finally:
        feeder.stop()
        cluster.stop()
        for web in webs:
            web.close()
        client.close()
        engine.dispose()
    resent = [item.to_resend for item in lost if item.resent_at is not None]
    final = [item.to_final for item in lost if item.final_at is not None]
    return {
        "lost": len(lost),
        "lease_seconds": args.lease,
        "resent": len(resent),
        "final": len(final),
        "backlog_at_first_loss": at_first_loss,
        "backlog_when_resent_min": min((i.backlog_when_resent for i in lost), default=-1),
        "resend_p50": _percentile(resent, 0.5) if resent else None,
        "resend_p95": _percentile(resent, 0.95) if resent else None,
        "resend_mean": statistics.fmean(resent) if resent else None,
        "final_p50": _percentile(final, 0.5) if final else None,
        "final_p95": _percentile(final, 0.95) if final else None,
    }


@time_limited("lost_message")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.lost_message", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--lost", type=int, default=20, help="messages to lose (default 20)")
    parser.add_argument(
        "--lease", type=float, default=30.0, help="SLUICE_ITEM_LEASE for the run (default 30)"
    )
    parser.add_argument("--first", type=int, default=150, help="pages submitted first")
    parser.add_argument("--batch", type=int, default=10, help="pages submitted each time")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between batches")
    parser.add_argument(
        "--ceiling", type=int, default=40, help="submit only while fewer messages wait (40)"
    )
    parser.add_argument("--spread", type=float, default=0.5, help="seconds between losses")
    parser.add_argument("--hosts", type=int, default=4, help="loopback hosts serving pages (4)")
    parser.add_argument(
        "--settle", type=float, default=60, help="most seconds to wait for the backlog (60)"
    )
    parser.add_argument("--timeout", type=float, default=300, help="give up following after")
    parser.add_argument("--redis-url", default=None, help="Redis server (default: embedded)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (default: SQLite)")
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    add_time_limit(parser, 1200)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    with (
        tempfile.TemporaryDirectory(prefix="sluice-lost-message-") as tmp,
        redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
        fresh_store(args.database_url, Path(tmp)) as database_url,
    ):
        figures = _run(args, redis_url, database_url, Path(tmp))
    print(json.dumps(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"lost {figures['lost']}, resent {figures['resent']}, final {figures['final']}")
    print(f"loss -> resend: p50 {figures['resend_p50']} s, p95 {figures['resend_p95']} s")
    print(f"loss -> final: p50 {figures['final_p50']} s, p95 {figures['final_p95']} s")
    return 0 if figures["final"] == figures["lost"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
