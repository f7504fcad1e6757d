"""Watched section pages: news sections with no feed, registered with ``sluice feeds add
--html``, gaining article links while sluice polls them on its adaptive schedule.

    python -m benchmarks.watched_sections [--sections 50] [--minutes 30] [--every 120,600]
        [--interval S] [--min-interval S] [--max-interval S] [--host-rate R] [--json FILE]

``tests/support/live_sections.py`` serves ``--sections`` section pages ``/live/N/`` from one
loopback host (127.0.0.2). Each lists its latest 20 article links (and navigation that is no
article: other desks, a tag, an "older" page) and starts with ``--initial`` links; once the
run starts, each gains a link every ``--every LOW,HIGH`` seconds (a random gap in that range
each time, drawn with ``--seed``). Pages send an ETag and a Last-Modified and answer
conditional requests with 304. The sections are registered as an operator would, ``sluice
feeds add --html URL…``; fetch workers (``--workers``, which run the feed scheduler) poll
them and fetch the articles, and one worker serves extract, dedup, tag and store
(``SLUICE_CHAIN_STAGES=all``), against a Redis database reserved for the run and a fresh
store.

Interval settings are the product's defaults (``SLUICE_FEED_INTERVAL`` 900 s, ``…_MIN_…``
300 s, ``…_MAX_…`` 86400 s) unless given. After ``--minutes`` publishing stops and the run
waits up to ``--grace`` seconds for the links a poll has seen. It prints:

* the delay from a link's appearance on its section page to its article being stored (the
  article row's ``created_at``), p50 and p95, next to the sections' learned poll interval
  (median and p95 of the feeds' ``interval`` at the end) and their publishing gap;
* links published, stored, and missed (seen by a poll before publishing stopped, not
  stored after the grace: must be 0), and the first links (on the page at registration);
* polls per section per hour and the share answered 304;
* requests for pages that are no article (navigation taken as an article) and articles
  fetched more than once.

It exits 1 when a seen link was missed. A quick trial::

    python -m benchmarks.watched_sections --sections 50 --minutes 3 --every 20,60 \\
        --interval 60 --min-interval 15 --max-interval 600 --host-rate 10 --grace 90
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.crawl_run import epoch, progress, start_workers
from benchmarks.harness import (
    add_feed_interval_options,
    add_service_options,
    feed_settings,
    fmt,
    pair,
    publish_for,
    report_run,
    seconds_at,
    wait_until,
)
from benchmarks.time_limit import add_time_limit, arm, time_limited
from tests.support.cluster import Cluster
from tests.support.live_sections import LiveLink, LiveSections, gap_between
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main", "render"]


def _settings(args: argparse.Namespace) -> dict[str, str]:
    return {"SLUICE_CHAIN_STAGES": "all", **feed_settings(args)}


def _stored(database_url: str) -> dict[str, float]:
    """Each stored article's URL path, with when its row was made."""
    from sqlalchemy import select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import articles

    with read_scope(database_url) as conn:
        rows = conn.execute(select(articles.c.url, articles.c.created_at)).all()
    stored: dict[str, float] = {}
    for url, created in rows:
        path = urlsplit(str(url or "")).path
        at = epoch(created)
        stored[path] = min(at, stored.get(path, at))
    return stored


def _feeds(database_url: str) -> dict[str, dict[str, Any]]:
    from sqlalchemy import select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import feeds

    with read_scope(database_url) as conn:
        return {str(row.url): dict(row._mapping) for row in conn.execute(select(feeds))}


def _seen_by_a_poll(live: LiveSections, link: LiveLink, until: float) -> bool:
    """Whether a poll answered 200 after the link appeared (and before ``until``), or a 304
    after such a poll: the poller has seen it."""
    polls = [(at, status) for at, status in live.poll_times(link.section) if at <= until]
    return any(at >= link.appeared and status == 200 for at, status in polls)


def _register(cluster: Cluster, urls: list[str]) -> float:
    started = time.monotonic()
    done = cluster.sluice("feeds", "add", "--html", *urls, "--json", timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"sluice feeds add --html failed:\n{done.stdout}{done.stderr}")
    return time.monotonic() - started


def _run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    with (
        redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
        fresh_store(args.database_url, work_dir) as database_url,
        LiveSections(
            args.sections, gap_between(*args.every), initial=args.initial, seed=args.seed
        ) as live,
    ):
        cluster = Cluster(redis_url, database_url, work_dir, _settings(args))
        try:
            start_workers(cluster, args.workers, args.threads, args.processes)
            register_seconds = _register(cluster, live.section_urls())
            progress(f"registered {args.sections} section pages in {register_seconds:.1f} s")
            t0 = time.time()
            live.start()
            publish_for(cluster, t0, args.minutes * 60, lambda at: _running(live, database_url, at))
            live.stop()
            t_end = time.time()
            due = [k for k in live.links if _seen_by_a_poll(live, k, t_end)]

            def all_stored() -> bool:
                stored = _stored(database_url)
                return all(k.path in stored for k in due)

            wait_until(cluster, args.grace, all_stored)
            grace = time.time() - t_end
            stored = _stored(database_url)
            feeds = _feeds(database_url)
        finally:
            cluster.stop()
        return _figures(args, live, stored, feeds, (t0, t_end, grace), due, register_seconds)


def _running(live: LiveSections, database_url: str, elapsed: float) -> str:
    polls, answered = live.polls()
    links = live.links
    stored = _stored(database_url)
    return (
        f"  {elapsed:6.0f} s: {sum(not k.initial for k in links)} links published, {polls} "
        f"polls ({answered} x 304), {sum(k.path in stored for k in links)} stored"
    )


def _figures(
    args: argparse.Namespace,
    live: LiveSections,
    stored: dict[str, float],
    feeds: dict[str, dict[str, Any]],
    window: tuple[float, float, float],
    due: list[LiveLink],
    register_seconds: float,
) -> dict[str, Any]:
    t0, t_end, grace = window
    links = live.links
    new = [k for k in links if not k.initial]
    delays = [stored[k.path] - k.appeared for k in new if k.path in stored]
    first = [k for k in links if k.initial]
    rows = [feeds.get(url, {}) for url in live.section_urls()]
    intervals = [float(r["interval"]) for r in rows if r.get("interval") is not None]
    gaps = [
        b.appeared - a.appeared
        for n in range(args.sections)
        for a, b in zip(
            [k for k in new if k.section == n], [k for k in new if k.section == n][1:], strict=False
        )
    ]
    polls, answered = live.polls()
    hours = (t_end - t0) / 3600
    requests = live.requests()
    article_paths = {k.path for k in links}
    section_paths = {urlsplit(u).path for u in live.section_urls()}
    not_articles = sum(
        n
        for target, n in requests.items()
        if urlsplit(target).path not in article_paths | section_paths | {"/robots.txt"}
        or (urlsplit(target).path in section_paths and "?" in target)
    )
    twice = sum(
        1 for target, n in requests.items() if urlsplit(target).path in article_paths and n > 1
    )
    missed = [k for k in due if k.path not in stored]
    states: dict[str, int] = {}
    for row in rows:
        key = str(row.get("state")) + (f" ({row['reason']})" if row.get("reason") else "")
        states[key] = states.get(key, 0) + 1
    return {
        "setup": {
            "sections": args.sections,
            "minutes": args.minutes,
            "every_s": list(args.every),
            "initial_links": args.initial,
            "seconds_measured": round(t_end - t0, 1),
            "grace_seconds": round(grace, 1),
            "register_seconds": round(register_seconds, 1),
            "settings": _settings(args),
            "fetch_workers": args.workers,
            "pipeline_processes": args.processes,
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "published": len(new),
        "stored": len(delays),
        "first_links": len(first),
        "first_links_stored": sum(k.path in stored for k in first),
        "delay_p50_s": seconds_at(delays, 0.5),
        "delay_p95_s": seconds_at(delays, 0.95),
        "delay_max_s": seconds_at(delays, 1.0),
        "learned_interval_median_s": seconds_at(intervals, 0.5),
        "learned_interval_p95_s": seconds_at(intervals, 0.95),
        "publish_gap_median_s": seconds_at(gaps, 0.5),
        "due": len(due),
        "missed": len(missed),
        "missed_examples": [k.path for k in missed[:5]],
        "polls": polls,
        "polls_per_section_hour": round(polls / args.sections / hours, 2) if hours else None,
        "share_304": round(answered / polls, 3) if polls else None,
        "requests_not_articles": not_articles,
        "articles_fetched_twice": twice,
        "feed_states": states,
    }


def render(data: dict[str, Any]) -> str:
    """The figures as plain text."""
    s = data["setup"]
    return "\n".join(
        [
            f"{s['sections']} section pages, a link every {s['every_s'][0]:g}-{s['every_s'][1]:g}"
            f" s each, {s['seconds_measured']:g} s of publishing (+ {s['grace_seconds']:g} s "
            f"grace); {s['fetch_workers']} fetch worker(s), 1 pipeline worker x "
            f"{s['pipeline_processes']}; settings {s['settings']}",
            "",
            f"link appearance to article stored: p50 {fmt(data['delay_p50_s'], ' s')}, p95 "
            f"{fmt(data['delay_p95_s'], ' s')}, max {fmt(data['delay_max_s'], ' s')}",
            f"learned poll interval:   median {fmt(data['learned_interval_median_s'], ' s')}, "
            f"p95 {fmt(data['learned_interval_p95_s'], ' s')} (publishing gap median "
            f"{fmt(data['publish_gap_median_s'], ' s')})",
            f"links published:         {data['published']}, stored {data['stored']}; "
            f"{data['due']} seen by a poll, {data['missed']} of them missed"
            + (f" e.g. {', '.join(data['missed_examples'])}" if data["missed"] else ""),
            f"first links:             {data['first_links_stored']} of {data['first_links']} "
            "stored (on the pages at registration)",
            f"polls:                   {data['polls']} ({fmt(data['polls_per_section_hour'])} "
            f"per section per hour), 304 {fmt(data['share_304'])}",
            f"not-article requests:    {data['requests_not_articles']}; articles fetched "
            f"twice {data['articles_fetched_twice']}",
            "sections by state:       "
            + ", ".join(f"{k} {v}" for k, v in sorted(data["feed_states"].items())),
            f"load average (1 min):    {s['load_average_1m']} (other work skews the figures)",
        ]
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.watched_sections", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--sections", type=int, default=50, help="section pages (default 50)")
    p.add_argument("--minutes", type=float, default=30, help="minutes of publishing (default 30)")
    p.add_argument("--every", type=pair, default=(120.0, 600.0), help="LOW,HIGH s between links")
    p.add_argument("--initial", type=int, default=3, help="links on each page at registration")
    p.add_argument("--grace", type=float, default=300, help="seconds for links in flight after")
    p.add_argument("--workers", type=int, default=1, help="fetch worker processes (default 1)")
    p.add_argument("--threads", type=int, default=16, help="threads per fetch worker")
    p.add_argument("--processes", type=int, default=2, help="pipeline worker's processes")
    add_feed_interval_options(p)
    p.add_argument("--seed", type=int, default=1, help="seed of the publishing times")
    add_service_options(p)
    return p


@time_limited("watched_sections")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_time_limit(parser, None, "--minutes plus --grace plus 15 minutes")
    args = parser.parse_args(argv)
    if args.sections < 1 or args.minutes <= 0 or args.workers < 1:
        parser.error("--sections, --minutes and --workers must be positive")
    arm(args.minutes * 60 + args.grace + 900 if args.time_limit is None else args.time_limit)
    return report_run(args, "sluice-sections-", _run, render, lambda data: data["missed"] == 0)


if __name__ == "__main__":
    raise SystemExit(main())
