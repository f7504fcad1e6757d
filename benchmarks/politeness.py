"""The per-host budget and the crawl frontier across fetch processes: how fast, how fair,
what each URL costs, and whether the budget holds.

    python -m benchmarks.politeness [--hosts 50] [--pages 10] [--rate 1] [--workers 2]
        [--rounds 1] [--no-baseline]

Serves small pages from ``--hosts`` distinct loopback addresses (127.0.0.2, 127.0.0.3, …:
distinct hosts to the fetcher), submits ``--pages`` URLs per host (host after host, the
order that stalls a crawler with one queue), and runs ``--workers`` fetch-only worker
processes (``sluice worker --stages fetch``) against a Redis database reserved for the run
and a fresh store (SQLite, or a new database on ``--database-url``'s PostgreSQL server).
Two runs: the per-host limit off (``SLUICE_FETCH_HOST_RATE=0``: the slot limit of this
machine, the baseline), then on (``--rate``); ``--no-baseline`` runs only the second.
``--rounds N`` repeats the pair N times, swapping the order every other round, so that a
machine busy for a minute, or the second run's warmer store, does not fall on one side.
For each run it prints, from what the servers saw:

* pages per second, from submission to the last page served;
* the most requests any one host received within any 1-second window (robots.txt
  included), which must not exceed the rate when the limit is on, and the smallest gap
  between two requests to one host;
* how evenly hosts were served: Jain's fairness index of pages served per host at the
  run's half-way point (1.0: perfectly even), and the spread of per-host finishing times;
* fetch task runs per URL (every run of the fetch stage, counted by the runner), elapsed
  time against the ideal (pages per host ÷ rate), and pages served in each 10 s;
* at the end, the budgeted runs' mean pages per second against the lower of the budget
  limit (hosts × rate) and the baseline runs' mean;
* the fetch workers' peak resident memory growth over the run, and the Redis memory each
  URL waiting in the frontier takes (measured when the submission has returned).

Two figures of the issue that introduced the frontier, reproduced with::

    python -m benchmarks.politeness --hosts 1 --pages 5000 --rate 20 --workers 1 \
        --concurrency 64 --no-baseline
    python -m benchmarks.politeness --hosts 500 --pages 20 --rate 2 --workers 2 --rounds 2
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from benchmarks.loopback import serving
from benchmarks.processes import ProcessWatch
from benchmarks.time_limit import add_time_limit, arm, time_limited
from tests.support.cluster import Cluster
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main", "window_peak"]

_PAGE = (
    "<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
    "<p>The council met on {title} to discuss the harbour, the ferries and the budget.</p>"
    "</article></body></html>"
)


class _Handler(BaseHTTPRequestHandler):
    server: _HostServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        now = time.monotonic()
        with self.server.lock:
            self.server.requests.append((now, self.path))
        if self.path == "/robots.txt":
            body, status, kind = b"", 404, "text/plain"
        else:
            body, status, kind = _PAGE.format(title=self.path).encode(), 200, "text/html"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _HostServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: str) -> None:
        super().__init__((address, 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[float, str]] = []
        self.base_url = f"http://{address}:{self.server_address[1]}"


# Width (s) of the buckets of the pages-served timeline, which shows where a run slowed.
_BUCKET = 10.0


def window_peak(times: list[float], window: float = 1.0) -> int:
    """The most of ``times`` that fall in any half-open interval ``[t, t + window)``."""
    ordered = sorted(times)
    best = start = 0
    for end, t in enumerate(ordered):
        while ordered[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _jain(values: list[float]) -> float:
    total = sum(values)
    squares = sum(v * v for v in values)
    return total * total / (len(values) * squares) if squares else 1.0


def _wait_ready(redis_url: str, workers: Cluster, timeout: float = 120) -> None:
    from celery import Celery

    app = Celery(broker=redis_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            workers.check_alive()
            replies = app.control.inspect(timeout=0.5).active_queues() or {}
            if len(replies) >= len(workers.processes):
                return
            time.sleep(0.3)
    finally:
        app.close()
    raise TimeoutError("fetch workers did not come up:\n" + workers.logs())


def _run(
    label: str,
    rate: float,
    args: argparse.Namespace,
    servers: list[_HostServer],
    redis_url: str,
    database_url: str,
    work_dir: Path,
) -> dict[str, Any]:
    """One run: workers with this ``rate``, every URL submitted, until every page is served."""
    import redis

    from sluice.producers import submit_urls
    from sluice.shared.metrics.stage_outcomes import read_outcomes
    from sluice.shared.settings import get_settings
    from sluice.workers.celery import reconfigure
    from sluice.workers.fetching.frontier import Frontier

    # Robots cache and budgets start afresh; the reservation key of the database stays.
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(count=1000):
        if not key.startswith(b"sluice-test:"):
            client.delete(key)
    client.close()
    env = {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATABASE_URL": database_url,
        "SLUICE_DATA_DIR": str(work_dir),
        "SLUICE_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
        "SLUICE_FETCH_HOST_RATE": str(rate),
        # Only fetch is served here: the extract queue only grows, and with the high-water
        # mark on it the producer would wait for it forever once paused.
        "SLUICE_QUEUE_HIGH_WATER": "0",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("SLUICE_")})
    get_settings.cache_clear()
    reconfigure()
    log_dir = work_dir / f"logs-{label}"
    log_dir.mkdir(exist_ok=True)
    workers = Cluster(redis_url, database_url, log_dir, env)
    watch = ProcessWatch(workers)
    for n in range(args.workers):
        workers.start_worker(
            "--stages", "fetch", "--concurrency", str(args.concurrency), "--name", f"f{n}-{label}"
        )
    try:
        _wait_ready(redis_url, workers)
        for server in servers:
            with server.lock:
                server.requests.clear()
        urls = [
            f"{server.base_url}/{label}/{page}.html"
            for server in servers
            for page in range(args.pages)
        ]
        expected = len(urls)
        client = redis.Redis.from_url(redis_url)
        rss_start = watch.sample_rss()
        memory_start = int(client.info("memory")["used_memory"])
        started = time.monotonic()
        submit_urls(urls, description=f"politeness benchmark, {label}")
        submitted = time.monotonic() - started
        waiting = Frontier(client).size()
        per_url = (int(client.info("memory")["used_memory"]) - memory_start) / max(1, waiting)
        deadline = started + args.timeout
        rss_peak = rss_start
        sampled = 0.0
        while True:
            served = sum(
                1 for s in servers for _, path in list(s.requests) if path != "/robots.txt"
            )
            if served >= expected or time.monotonic() > deadline:
                break
            workers.check_alive()
            if time.monotonic() - sampled > 0.5:
                rss_peak = max(rss_peak, watch.sample_rss())
                sampled = time.monotonic()
            time.sleep(0.05)
        ended = time.monotonic()
        if served < expected:
            print(f"gave up after {args.timeout:g} s with {served} of {expected} pages served")
        time.sleep(1.0)  # the last tasks count their outcomes
        runs = sum(n for stage, _, _, n in read_outcomes(client) if stage == "fetch")
        client.close()
    finally:
        workers.stop()
    figures = _figures(label, rate, servers, started, ended, submitted, expected)
    figures["fetch_task_runs_per_url"] = round(runs / max(1, expected), 3)
    figures["ideal_seconds"] = round(args.pages / rate, 1) if rate else None
    figures["elapsed_over_ideal"] = (
        round(figures["seconds"] / figures["ideal_seconds"], 3) if rate else None
    )
    figures["fetch_worker_rss_growth_mb"] = round((rss_peak - rss_start) / 1024, 1)
    figures["redis_bytes_per_waiting_url"] = round(per_url) if waiting else None
    figures["frontier_at_submit"] = waiting
    return figures


def _figures(
    label: str,
    rate: float,
    servers: list[_HostServer],
    started: float,
    ended: float,
    submitted: float,
    expected: int,
) -> dict[str, Any]:
    pages = [[t for t, path in s.requests if path != "/robots.txt"] for s in servers]
    every = [[t for t, _ in s.requests] for s in servers]
    served = sum(len(p) for p in pages)
    last = max((max(p) for p in pages if p), default=ended)
    elapsed = last - started
    gaps = [b - a for times in every for a, b in itertools.pairwise(sorted(times))]
    half = started + elapsed / 2
    finish = [max(p) - started for p in pages if p]
    timeline = [0] * (int(elapsed // _BUCKET) + 1)
    for times in pages:
        for t in times:
            timeline[max(0, int((t - started) // _BUCKET))] += 1
    return {
        "run": label,
        "rate_limit": rate or None,
        "pages": served,
        "expected": expected,
        "seconds": round(elapsed, 2),
        "submit_seconds": round(submitted, 2),
        "pages_per_second": round(served / elapsed, 1) if elapsed > 0 else None,
        "max_requests_per_host_in_1s": max(window_peak(times) for times in every),
        "min_gap_same_host_ms": round(min(gaps) * 1000, 1) if gaps else None,
        "jain_index_at_half_time": round(_jain([sum(1 for t in p if t < half) for p in pages]), 3),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "host_finish_seconds": {
            "min": round(min(finish), 2),
            "median": round(statistics.median(finish), 2),
            "max": round(max(finish), 2),
        },
        "pages_per_bucket": timeline,
    }


def _print(figures: dict[str, Any]) -> None:
    limit = figures["rate_limit"]
    print(
        f"\n== {figures['run']}: per-host limit {'off' if limit is None else f'{limit:g} req/s'} =="
    )
    print(f"pages served:           {figures['pages']} of {figures['expected']}")
    print(f"pages per second:       {figures['pages_per_second']}  ({figures['seconds']} s)")
    peak = figures["max_requests_per_host_in_1s"]
    verdict = "" if limit is None else ("  (within the limit)" if peak <= limit else "  OVER")
    print(f"busiest host, any 1 s:  {peak} requests{verdict}")
    print(f"smallest same-host gap: {figures['min_gap_same_host_ms']} ms")
    print(f"fairness at half time:  Jain index {figures['jain_index_at_half_time']}")
    f = figures["host_finish_seconds"]
    print(f"host finish times:      min {f['min']} s, median {f['median']} s, max {f['max']} s")
    rates = " ".join(f"{n / _BUCKET:.0f}" for n in figures["pages_per_bucket"])
    print(f"pages/s per {_BUCKET:g} s:      {rates}")
    print(f"fetch task runs per URL: {figures['fetch_task_runs_per_url']}")
    if figures["ideal_seconds"]:
        print(
            f"elapsed vs ideal:       {figures['seconds']} s / {figures['ideal_seconds']} s "
            f"= {figures['elapsed_over_ideal']}"
        )
    print(f"fetch worker RSS growth: {figures['fetch_worker_rss_growth_mb']} MB (peak)")
    print(
        f"Redis per waiting URL:  {figures['redis_bytes_per_waiting_url']} bytes "
        f"({figures['frontier_at_submit']} in the frontier after submit)"
    )
    print(f"load average (1 min):   {figures['load_average_1m']} (other work skews the figures)")


def _schedule(args: argparse.Namespace) -> list[tuple[str, float]]:
    """The runs, as (label, rate): ``--rounds`` pairs of the limit off and on, the order
    swapped every other round (off, on, on, off, …) so that neither side is always the
    later, warmer or more crowded one. Labels are unique: each run fetches its own URLs."""
    if args.no_baseline:
        return [(f"on{n}", args.rate) for n in range(1, args.rounds + 1)]
    schedule = []
    for n in range(1, args.rounds + 1):
        pair = [(f"off{n}", 0.0), (f"on{n}", args.rate)]
        schedule += pair if n % 2 else pair[::-1]
    return schedule


def _summary(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    """Pages per second of each side over every round, and the budgeted runs against the
    lower of the budget limit and the baseline's mean."""
    on = [r["pages_per_second"] for r in results if r["rate_limit"]]
    off = [r["pages_per_second"] for r in results if not r["rate_limit"]]
    summary: dict[str, Any] = {
        "pages_per_second_on": on,
        "pages_per_second_off": off,
        "max_requests_per_host_in_1s": max(
            r["max_requests_per_host_in_1s"] for r in results if r["rate_limit"]
        ),
    }
    limits = [args.hosts * args.rate] + ([statistics.mean(off)] if off else [])
    summary["limit_pages_per_second"] = round(min(limits), 1)
    summary["throughput_over_limit"] = round(statistics.mean(on) / min(limits), 3)
    return summary


def _print_summary(summary: dict[str, Any]) -> None:
    print("\n== summary ==")
    off = summary["pages_per_second_off"]
    print(f"pages/s, limit off:     {', '.join(map(str, off)) or 'not run'}")
    print(f"pages/s, limit on:      {', '.join(map(str, summary['pages_per_second_on']))}")
    print(
        f"on vs limit:            {statistics.mean(summary['pages_per_second_on']):.1f} / "
        f"{summary['limit_pages_per_second']} = {summary['throughput_over_limit']} "
        "(mean of the budgeted runs / lower of budget and mean baseline)"
    )
    print(f"busiest host, any 1 s:  {summary['max_requests_per_host_in_1s']} requests")


@time_limited("politeness")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=50, help="distinct hosts (max 1000)")
    parser.add_argument("--pages", type=int, default=10, help="pages per host")
    parser.add_argument("--rate", type=float, default=1.0, help="per-host limit (req/s)")
    parser.add_argument("--workers", type=int, default=2, help="fetch worker processes")
    parser.add_argument("--concurrency", type=int, default=32, help="threads per worker")
    parser.add_argument("--timeout", type=float, default=600, help="give up a run after (s)")
    parser.add_argument("--redis-url", default=None, help="Redis server (default: as sluice up)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server to create a fresh store on (default: a new SQLite file)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="pairs of runs, off/on then on/off, …"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the run without a per-host limit"
    )
    add_time_limit(parser, None, "two --timeout a round plus 15 minutes")
    args = parser.parse_args(argv)
    arm(2 * args.rounds * args.timeout + 900 if args.time_limit is None else args.time_limit)
    if not 1 <= args.hosts <= 1000:
        parser.error("--hosts must be between 1 and 1000")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    results = []
    with tempfile.TemporaryDirectory(prefix="sluice-politeness-") as tmp:
        work_dir = Path(tmp)
        with (
            redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
            fresh_store(args.database_url, work_dir, keep=False) as database_url,
            serving(_HostServer, args.hosts) as servers,
        ):
            print(
                f"{args.hosts} hosts x {args.pages} pages, {args.workers} fetch workers x "
                f"{args.concurrency} threads, redis {redis_url}, "
                f"store {database_url.split(':', 1)[0]}",
                flush=True,
            )
            for label, rate in _schedule(args):
                figures = _run(label, rate, args, servers, redis_url, database_url, work_dir)
                _print(figures)
                results.append(figures)
    summary = _summary(results, args)
    _print_summary(summary)
    if args.json:
        args.json.write_text(json.dumps({"runs": results, "summary": summary}, indent=2))
    return 0 if summary["max_requests_per_host_in_1s"] <= args.rate else 1


if __name__ == "__main__":
    raise SystemExit(main())
