"""Thousands of feeds on one host: polls flow at the host's rate, with no pile of stale poll
items, through a fetch worker's restart (issue 24).

    python -m benchmarks.feeds_one_host [--feeds 5000] [--minutes 6] [--host-rate 10]
        [--poll-lease 60] [--restart-at 3] [--workers 2] [--baseline pages] [--pages 5000]
        [--database-url URL] [--json FILE]

One HTTP server on 127.0.0.2 serves ``--feeds`` empty RSS feeds (an ETag, and 304 to
If-None-Match), noting each request's time and feed. They are registered as a user would
(``sluice feeds import``), due at once, with an interval of ``--interval`` (60 s, also the
minimum): every feed is due again long before its next turn can come, so the host's rate
(``SLUICE_FETCH_HOST_RATE``) is all that limits the polls. A round of every feed's turn
takes ``--feeds / --host-rate`` seconds (500 s by default), many times the poll lease
(``SLUICE_FEED_POLL_LEASE``, 60 s, as in the issue's run): a claim that lapsed while its
poll waited would queue the feed again, as a new, stale, frontier item.

``--workers`` fetch workers (``sluice worker --stages fetch``, each running the feed
scheduler) poll; at ``--restart-at`` minutes the first is killed (SIGKILL of its process
group, mid-poll) and a new one started. Every ``--sample`` seconds it notes the polls per
second since the last sample, the frontier's depth for the host and the poll items in the
frontier, and, every third sample, the stale poll items: items whose claim is not their
feed's claim in the store (read frontier, store, frontier, so a poll ending in between is
not counted). It prints that series, then the polls per second against the host's rate
(overall, before and after the restart, and the longest gap between two polls after it),
the most poll items and the deepest queue seen, stale poll items, polls of a claim no longer
held (the workers' logs), and duplicate polls (a feed asked for twice within half its
interval). It exits 1 when any stale item, stale poll or duplicate poll was seen, or the
polls ran below 80 % of the host's rate outside the restart.

``--baseline pages`` submits ``--pages`` plain pages on a second host (127.0.0.3) beside
the feeds, at the same rate, through the same frontier and fetch workers: in the same run,
on the same loaded machine, it prints the rate a host's page fetches reach against its
polls', and the gaps between requests to each host (least, median, 90th percentile: the
excess over the interval is what a turn lost). The pages' fetch outcomes pile up in the
extract queue, unserved, so the high-water mark is off for such a run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.time_limit import add_time_limit, arm, time_limited
from tests.support.cluster import Cluster
from tests.support.feed_claims import stale_poll_items
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main"]

HOST = "127.0.0.2"
#: The host of ``--baseline pages``: plain page fetches, beside the feeds, at the same rate.
PAGES_HOST = "127.0.0.3"
_PAGE = b"<html><head><title>p</title></head><body><p>A page.</p></body></html>"
_BODY = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Handler(BaseHTTPRequestHandler):
    server: _FeedServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path.startswith("/p") and path.endswith(".html"):
            self.server.note(int(path[2:-5]))
            self._answer(200, _PAGE, "text/html")
        elif path.startswith("/f") and path.endswith(".xml"):
            self.server.note(int(path[2:-4]))
            if self.headers.get("If-None-Match") == '"e"':
                self._answer(304, b"")
            else:
                self._answer(200, _BODY)
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes, kind: str = "application/rss+xml") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("ETag", '"e"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _FeedServer(ThreadingHTTPServer):
    """A host of feeds (or pages): notes (``time.monotonic()``, number) of every request
    for one."""

    daemon_threads = True

    def __init__(self, host: str = HOST) -> None:
        super().__init__((host, 0), _Handler)
        self.host = host
        self.polls: list[tuple[float, int]] = []
        self.lock = threading.Lock()

    def note(self, feed: int) -> None:
        with self.lock:
            self.polls.append((time.monotonic(), feed))

    def url(self, feed: int) -> str:
        return f"http://{self.host}:{self.server_address[1]}/f{feed}.xml"

    def page_url(self, page: int) -> str:
        return f"http://{self.host}:{self.server_address[1]}/p{page}.html"


def _duplicates(polls: list[tuple[float, int]], within: float) -> int:
    """Polls of a feed closer than ``within`` seconds to its previous poll."""
    last: dict[int, float] = {}
    twice = 0
    for at, feed in sorted(polls):
        if feed in last and at - last[feed] < within:
            twice += 1
        last[feed] = at
    return twice


def _gaps(requests: list[tuple[float, int]], start: float, end: float) -> dict[str, float] | None:
    """The gaps (ms) between consecutive requests to one host in ``[start, end)``: the least
    (never under the host's interval) and the median and 90th percentile, whose excess over
    the interval is the time a turn lost between the gate opening and its request."""
    times = sorted(at for at, _ in requests if start <= at < end)
    gaps = sorted((b - a) * 1000 for a, b in itertools.pairwise(times))
    if not gaps:
        return None
    return {
        "min": round(gaps[0], 1),
        "p50": round(gaps[len(gaps) // 2], 1),
        "p90": round(gaps[int(len(gaps) * 0.9)], 1),
    }


def _rate(polls: list[tuple[float, int]], start: float, end: float) -> float:
    return sum(start <= at < end for at, _ in polls) / max(end - start, 1e-9)


def _run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    import redis

    server = _FeedServer()
    pages = _FeedServer(PAGES_HOST) if args.baseline == "pages" else None
    for one in (server, pages):
        if one is not None:
            threading.Thread(target=one.serve_forever, daemon=True).start()
    env = {
        "SLUICE_FEED_INTERVAL": f"{args.interval:g}",
        "SLUICE_FEED_MIN_INTERVAL": f"{args.interval:g}",
        "SLUICE_FEED_MAX_INTERVAL": f"{args.interval * 2:g}",
        "SLUICE_FEED_POLL_LEASE": f"{args.poll_lease:g}",
        "SLUICE_FETCH_HOST_RATE": f"{args.host_rate:g}",
    }
    if pages is not None:
        # Only fetch is served: the extract queue only grows, and with the high-water mark
        # on it the page submission would wait for it forever.
        env["SLUICE_QUEUE_HIGH_WATER"] = "0"
    try:
        with (
            redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
            fresh_store(args.database_url, work_dir, keep=False) as database_url,
        ):
            cluster = Cluster(redis_url, database_url, work_dir, env)
            os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("SLUICE_")})
            from sluice.shared.db import upgrade_database
            from sluice.shared.settings import get_settings
            from sluice.workers.celery import reconfigure
            from sluice.workers.fetching.frontier import Frontier

            get_settings.cache_clear()
            reconfigure()
            upgrade_database(database_url)
            try:
                frontier = Frontier(redis.Redis.from_url(redis_url))
                return _measure(args, cluster, server, pages, frontier)
            finally:
                cluster.stop()
    finally:
        for one in (server, pages):
            if one is not None:
                one.shutdown()
                one.server_close()


def _measure(
    args: argparse.Namespace,
    cluster: Cluster,
    server: _FeedServer,
    pages: _FeedServer | None,
    frontier: Any,
) -> dict[str, Any]:
    def start(n: int) -> Any:
        return cluster.start_worker(
            "--stages", "fetch", "--concurrency", str(args.concurrency), "--name", f"one-host-{n}"
        )

    for n in range(args.workers):
        start(n)
    cluster.wait_ready(("fetch",), timeout=180, nodes=args.workers)
    listing = cluster.data_dir / "feeds.txt"
    listing.write_text("".join(server.url(n) + "\n" for n in range(args.feeds)))
    done = cluster.sluice("feeds", "import", str(listing), "--json", timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"sluice feeds import failed:\n{done.stdout}{done.stderr}")
    if pages is not None:
        from sluice.producers import submit_urls

        submit_urls(
            [pages.page_url(n) for n in range(args.pages)], description="one-host pages baseline"
        )
        _progress(f"{args.pages} pages on {PAGES_HOST} submitted, beside the feeds")
    _progress(
        f"{args.feeds} feeds on {HOST}, {args.host_rate:g} requests/s, lease "
        f"{args.poll_lease:g} s: a round of turns takes {args.feeds / args.host_rate:.0f} s"
    )
    t0 = time.monotonic()
    end = t0 + args.minutes * 60
    restart_at = t0 + args.restart_at * 60
    restarted: float | None = None
    samples: list[dict[str, Any]] = []
    # Polls and pages served while the feeds were imported are not this window's.
    last, last_count = t0, len(server.polls)
    last_pages = len(pages.polls) if pages is not None else 0
    while time.monotonic() < end:
        time.sleep(args.sample)
        now = time.monotonic()
        if restarted is None and now >= restart_at:
            victim = cluster.processes[0]
            os.killpg(victim.pid, signal.SIGKILL)
            victim.wait(timeout=30)
            cluster.processes.remove(victim)
            restarted = time.monotonic()
            start(args.workers)
            _progress(f"{restarted - t0:.0f} s: fetch worker killed (SIGKILL), another started")
        else:
            cluster.check_alive()
        count = len(server.polls)
        sample: dict[str, Any] = {
            "t": round(now - t0, 1),
            "polls_per_second": round((count - last_count) / (now - last), 2),
            "pages_per_second": None,
            "host_depth": len(frontier.waiting_items(HOST)),
            # The baseline's pages wait in the frontier too: not poll items.
            "poll_items": frontier.size()
            - (len(frontier.waiting_items(PAGES_HOST)) if pages is not None else 0),
        }
        if len(samples) % 3 == 0:
            sample["stale_items"] = stale_poll_items(frontier, cluster.database_url)
        if pages is not None:
            fetched = len(pages.polls)
            sample["pages_per_second"] = round((fetched - last_pages) / (now - last), 2)
            last_pages = fetched
        samples.append(sample)
        last, last_count = now, count
        _progress(json.dumps(sample))
    polls = list(server.polls)
    logs = "".join(
        path.read_text(errors="replace") for path in sorted(cluster.data_dir.glob("worker-*.log"))
    )
    after = sorted(at for at, _ in polls if restarted is not None and at >= restarted)
    first_after = (after[0] - restarted) if after and restarted is not None else None
    gaps = [b - a for a, b in itertools.pairwise(after)]
    warm = t0 + 30  # the first polls, robots.txt and the workers' start are in the first 30 s
    fetched = list(pages.polls) if pages is not None else []
    return {
        "baseline": args.baseline,
        "pages": len(fetched),
        "pages_per_second": round(_rate(fetched, warm, restarted or end), 2) if pages else None,
        "page_gaps_ms": _gaps(fetched, warm, restarted or end),
        "poll_gaps_ms": _gaps(polls, warm, restarted or end),
        "feeds": args.feeds,
        "host_rate": args.host_rate,
        "poll_lease": args.poll_lease,
        "round_seconds": args.feeds / args.host_rate,
        "minutes": args.minutes,
        "polls": len(polls),
        "feeds_polled": len({feed for _, feed in polls}),
        "polls_per_second": round(_rate(polls, warm, end), 2),
        "polls_per_second_before_restart": round(_rate(polls, warm, restarted or end), 2),
        "polls_per_second_after_restart": round(_rate(polls, (restarted or end) + 30, end), 2),
        "first_poll_after_restart_seconds": None if first_after is None else round(first_after, 2),
        "longest_gap_after_restart_seconds": round(max(gaps), 2) if gaps else None,
        "max_poll_items": max(s["poll_items"] for s in samples),
        "max_host_depth": max(s["host_depth"] for s in samples),
        "stale_items_max": max(s.get("stale_items", 0) for s in samples),
        "stale_polls_logged": logs.count("no longer held") + logs.count("stale poll dropped"),
        "duplicate_polls": _duplicates(polls, args.interval / 2),
        "samples": samples,
    }


def _report(result: dict[str, Any]) -> str:
    rate = result["host_rate"]
    lines = [
        f"{result['feeds']} feeds on one host for {result['minutes']:g} min; host rate "
        f"{rate:g}/s; poll lease {result['poll_lease']:g} s; a round of turns "
        f"{result['round_seconds']:.0f} s",
        "   t (s)  polls/s  pages/s  host depth  poll items  stale items",
    ]
    for s in result["samples"]:
        stale = s.get("stale_items")
        paged = s.get("pages_per_second")
        lines.append(
            f"  {s['t']:6.0f}  {s['polls_per_second']:7.2f}  {'' if paged is None else paged:>7}"
            f"  {s['host_depth']:10d}  "
            f"{s['poll_items']:10d}  {'' if stale is None else stale:>11}"
        )
    if result.get("pages_per_second") is not None:
        polls_before = result["polls_per_second_before_restart"]
        paged = result["pages_per_second"]
        lines.append(
            f"same run, same window (30 s to the restart or the end): page fetches on "
            f"{PAGES_HOST} {paged:.2f}/s ({paged / rate:.0%} of {rate:g}/s), feed polls on "
            f"{HOST} {polls_before:.2f}/s "
            f"({polls_before / rate:.0%})"
        )
        lines.append(
            f"gaps between requests to one host (ms; interval {1000 / rate:.0f}): pages "
            f"{result['page_gaps_ms']}, polls {result['poll_gaps_ms']}"
        )
    lines += [
        f"polls: {result['polls']} of {result['feeds_polled']} feeds",
        f"polls/s after the first 30 s: {result['polls_per_second']:.2f} "
        f"({result['polls_per_second'] / rate:.0%} of the host's {rate:g}/s); before the "
        f"restart {result['polls_per_second_before_restart']:.2f}, from 30 s after it "
        f"{result['polls_per_second_after_restart']:.2f}",
        f"first poll after the restart: {result['first_poll_after_restart_seconds']} s; "
        f"longest gap between polls after it: {result['longest_gap_after_restart_seconds']} s",
        f"most poll items in the frontier: {result['max_poll_items']} "
        f"(deepest host queue {result['max_host_depth']})",
        f"stale poll items (most seen at once): {result['stale_items_max']}; polls of a claim "
        f"no longer held: {result['stale_polls_logged']}; duplicate polls: "
        f"{result['duplicate_polls']}",
    ]
    return "\n".join(lines)


def _failed(result: dict[str, Any]) -> bool:
    slow = min(result["polls_per_second_before_restart"], result["polls_per_second_after_restart"])
    return bool(
        result["stale_items_max"]
        or result["stale_polls_logged"]
        or result["duplicate_polls"]
        or slow < 0.8 * result["host_rate"]
    )


@time_limited("feeds_one_host")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.feeds_one_host", description=__doc__
    )
    parser.add_argument("--feeds", type=int, default=5000)
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--host-rate", type=float, default=10.0, help="requests/s to the host")
    parser.add_argument("--poll-lease", type=float, default=60.0, help="SLUICE_FEED_POLL_LEASE")
    parser.add_argument("--interval", type=float, default=60.0, help="the feeds' interval (s)")
    parser.add_argument("--restart-at", type=float, default=3.0, help="minutes; 0: no restart")
    parser.add_argument(
        "--baseline",
        choices=("none", "pages"),
        default="none",
        help="pages: fetch --pages plain pages from a second host at the same rate, in the "
        "same run, for the rate a host's page fetches reach beside its polls",
    )
    parser.add_argument("--pages", type=int, default=5000, help="URLs of --baseline pages")
    parser.add_argument("--workers", type=int, default=2, help="fetch workers")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per fetch worker")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--redis-url", help="a Redis server (default: SLUICE_TEST_REDIS_URL)")
    parser.add_argument("--database-url", help="a PostgreSQL server for a fresh store")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    add_time_limit(parser, None, "--minutes plus 20 minutes")
    args = parser.parse_args(argv)
    if args.restart_at <= 0:
        args.restart_at = args.minutes + 1
    arm(args.minutes * 60 + 1200 if args.time_limit is None else args.time_limit)
    with tempfile.TemporaryDirectory(prefix="sluice-one-host-") as directory:
        result = _run(args, Path(directory))
    print(_report(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 1 if _failed(result) else 0


if __name__ == "__main__":
    sys.exit(main())
