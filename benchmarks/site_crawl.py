"""A whole-site crawl of a generated news site: each page fetched once, nothing out of
scope, at the host budget's pace, hubs followed and articles stored.

    python -m benchmarks.site_crawl [--pages 20000] [--depth 5] [--rate 20]
        [--max-pages N] [--workers 1] [--threads 16] [--processes 2] [--json FILE] ...

``tests/support/news_site.py`` serves a site of about ``--pages`` pages (front page,
sections with ``/page/N`` pagination, tags with ``?page=N``, articles, a calendar trap,
session ids, ``utm_`` links and links to two partner hosts) from 127.0.0.2, the partners
from 127.0.0.3 and .4. One ``sluice worker --stages fetch`` (``--workers``) fetches under
``SLUICE_FETCH_HOST_RATE=--rate`` and one worker serves extract, dedup, tag and store
(``SLUICE_CHAIN_STAGES=all``), against a Redis database reserved for the run and a fresh
store (SQLite, or a new database on ``--database-url``'s PostgreSQL server). The crawl is
submitted as an operator would: ``sluice submit --crawl URL --scope host --depth D
--max-pages M``. It ends when every item of the job is final and the site has had no
request for ``--quiet`` seconds. It prints, from what the servers saw and the store holds:

* fetches per in-scope URL (requests for pages, a session id or ``utm_`` parameters taken
  off, over distinct pages requested; target ≤ 1.02) and the pages fetched twice;
* requests to the out-of-scope partner hosts (target 0) and to robots.txt-disallowed paths;
* elapsed, submission to the end, against the budget's ideal (requests to the site ÷
  ``--rate``; target ≤ 1.10×), and from the first request to the last;
* Redis bytes per seen URL (the run's keys by ``MEMORY USAGE`` at the end, less before, over
  the seen set's size in ``sluice status --json``, else the job's items), by key family;
* the fetch workers' and the pipeline worker's resident memory growth (peak less start);
* article precision and recall: items stored as articles against the site's ground truth,
  over the whole site and over the pages fetched (the classifier alone);
* calendar-trap pages fetched, and the job's items by state and reason.

It exits 1 when a target is missed. A quick trial::

    python -m benchmarks.site_crawl --pages 300
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.crawl_run import (
    JobItem,
    Workers,
    job_id_of,
    job_items,
    job_states,
    progress,
    redis_bytes,
    start_workers,
)
from benchmarks.harness import add_service_options, fmt, report_run
from benchmarks.time_limit import add_time_limit, arm, time_limited
from tests.support.cluster import Cluster
from tests.support.news_site import ARTICLE, TRAP, NewsSite, page_key
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main", "render", "submit_args"]

TARGET_FETCHES_PER_URL = 1.02
TARGET_ELAPSED_OVER_IDEAL = 1.10
_FINAL = {"stored", "duplicate", "unchanged", "skipped", "failed"}


def _settings(args: argparse.Namespace) -> dict[str, str]:
    env = {
        "SLUICE_CHAIN_STAGES": "all",
        "SLUICE_FETCH_HOST_RATE": f"{args.rate:g}",
        "SLUICE_FEED_SCHEDULER": "false",
    }
    if args.no_tagging:
        # No spaCy pipeline for any language: articles are stored without entities
        # (no_model_for_language), so the crawl is measured rather than named-entity tagging.
        env["SLUICE_SPACY_MODELS"] = ""
    return env


def _pending(states: dict[str, int], final: set[str]) -> int:
    return sum(n for state, n in states.items() if state not in final)


def _final_states() -> set[str]:
    """The final states of this checkout (a crawl adds its hubs' own)."""
    try:
        from sluice.shared.states import FINAL_STATES

        return {str(s) for s in FINAL_STATES}
    except ImportError:  # pragma: no cover
        return set(_FINAL)


def _status(cluster: Cluster, job_id: str) -> dict[str, Any]:
    done = cluster.sluice("status", job_id, "--json", timeout=120)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-500:]}
    try:
        data = json.loads(done.stdout)
    except ValueError:
        return {"error": "status --json printed no JSON"}
    return data if isinstance(data, dict) else {"status": data}


def _seen_size(status: dict[str, Any]) -> int | None:
    """The seen set's size from ``status --json`` (``crawl.seen_urls``, else any count
    named for the seen set)."""
    crawl = status.get("crawl")
    if isinstance(crawl, dict) and isinstance(crawl.get("seen_urls"), int):
        return int(crawl["seen_urls"])
    todo: list[Any] = [status]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            for key, inner in value.items():
                if "seen" in str(key).lower() and isinstance(inner, int):
                    return inner
                todo.append(inner)
        elif isinstance(value, list):
            todo.extend(value)
    return None


def submit_args(args: argparse.Namespace, site: NewsSite) -> list[str]:
    """The operator's command: crawl the site from its front page."""
    return [
        "submit",
        "--crawl",
        site.url("/"),
        "--scope",
        "host",
        "--depth",
        str(args.depth),
        "--max-pages",
        str(args.max_pages or max(args.pages * 2, 100)),
    ]


def _crawl(
    args: argparse.Namespace, site: NewsSite, cluster: Cluster, workers: Workers, client: Any
) -> dict[str, Any]:
    """Submit the crawl and wait for its end; what was measured on the way."""
    final = _final_states()
    redis_before = redis_bytes(client)
    rss_start = (workers.rss_kib(workers.fetchers), workers.rss_kib(workers.pipeline))
    rss_peak = list(rss_start)
    submit = submit_args(args, site)
    started = time.time()
    done = cluster.sluice(*submit, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"sluice {' '.join(submit)} failed:\n{done.stdout}{done.stderr}")
    job_id = job_id_of(done.stdout)
    progress(f"job {job_id}: {' '.join(submit)}")
    last_change, last_requests, last_final, last_report = time.time(), -1, -1, time.time()
    # Counted by the store each second, not read whole: the site's server threads share
    # this process, and reading 20,000 items a second once took their turns from them.
    while True:
        cluster.check_alive()
        time.sleep(1)
        now = time.time()
        fetched = sum(site.requests.values())
        states = job_states(cluster.database_url, job_id)
        total = sum(states.values())
        finished = total - _pending(states, final)
        if fetched != last_requests or finished != last_final:
            last_change, last_requests, last_final = now, fetched, finished
        rss = (workers.rss_kib(workers.fetchers), workers.rss_kib(workers.pipeline))
        rss_peak = [max(a, b) for a, b in zip(rss_peak, rss, strict=True)]
        if now - last_report >= 15:
            last_report = now
            progress(
                f"  {now - started:6.0f} s: {fetched} requests to the site, {total} items "
                f"({', '.join(f'{s} {n}' for s, n in sorted(states.items()))})"
            )
        if total and finished == total and now - last_change >= args.quiet:
            ended = last_change
            break
        if now - last_change > args.stall_timeout:
            raise TimeoutError(
                f"nothing changed for {args.stall_timeout:g} s: {total - finished} items "
                f"of job {job_id} not final, {fetched} requests to the site"
            )
    items: list[JobItem] = job_items(cluster.database_url, job_id)
    status = _status(cluster, job_id)
    redis_after = redis_bytes(client)
    return {
        "job": job_id,
        "started": started,
        "ended": ended,
        "items": items,
        "status": status,
        "redis": (redis_before, redis_after),
        "rss_kib": (rss_start, tuple(rss_peak)),
    }


def _figures(args: argparse.Namespace, site: NewsSite, run: dict[str, Any]) -> dict[str, Any]:
    fetches = site.fetches()
    requests = site.requests
    truth = site.map.truth()
    in_scope_pages = len(fetches)
    page_requests = sum(fetches.values())
    all_requests = sum(requests.values())
    twice = sorted((k for k, n in fetches.items() if n > 1), key=lambda k: -fetches[k])
    kinds = Counter(site.map.kind_of(k) for k in fetches)
    seconds = run["ended"] - run["started"]
    ideal = all_requests / args.rate
    times = site.request_times()
    span = (max(times) - min(times)) if times else 0.0
    ordered = sorted(times)
    gaps_ms = sorted(1000 * (b - a) for a, b in itertools.pairwise(ordered))

    items: list[JobItem] = run["items"]
    netloc = urlsplit(site.base_url).netloc
    by_key: dict[str, str] = {}
    for item in items:
        parts = urlsplit(item.url)
        if parts.netloc != netloc:
            continue
        key = page_key(parts.path + (f"?{parts.query}" if parts.query else ""))
        # One page under two URLs: stored if either was.
        if by_key.get(key) != "stored":
            by_key[key] = item.state
    stored = {k for k, state in by_key.items() if state == "stored"}
    articles = {k for k, kind in truth.items() if kind == ARTICLE}
    fetched_articles = articles & set(fetches)
    hits = len(stored & articles)
    states = Counter(item.state + (f" ({item.reason})" if item.reason else "") for item in items)
    seen = _seen_size(run["status"])
    before, after = run["redis"]
    families = {f: after.get(f, 0) - before.get(f, 0) for f in set(before) | set(after)}
    grown = sum(families.values())
    seen_count = seen if seen is not None else len(items)
    # The seen set's own keys (workers/crawl/seen.py: its buckets and its caps hash).
    seen_bytes = sum(n for f, n in families.items() if "seen" in f.split(":"))
    (fetch0, pipe0), (fetch1, pipe1) = run["rss_kib"]
    return {
        "setup": {
            "pages_asked": args.pages,
            "site_pages": len(truth),
            "site_articles": len(articles),
            "depth": args.depth,
            "rate": args.rate,
            "fetch_workers": args.workers,
            "fetch_threads": args.threads,
            "pipeline_processes": args.processes,
            "tagging": not args.no_tagging,
            "site": site.base_url,
            "partners": site.partner_urls,
            "job": run["job"],
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "fetches_per_in_scope_url": round(page_requests / in_scope_pages, 4)
        if in_scope_pages
        else None,
        "in_scope_pages_fetched": in_scope_pages,
        "page_requests": page_requests,
        "robots_requests": requests.get("/robots.txt", 0),
        "pages_fetched_twice": len(twice),
        "fetched_twice_examples": [f"{k} x{fetches[k]}" for k in twice[:5]],
        "fetched_by_kind": dict(kinds),
        "out_of_scope_requests": site.partner_requests(),
        "disallowed_requests": kinds.get("disallowed", 0),
        "trap_pages_fetched": kinds.get(TRAP, 0),
        "elapsed_s": round(seconds, 1),
        "ideal_s": round(ideal, 1),
        "elapsed_over_ideal": round(seconds / ideal, 3) if ideal else None,
        "first_to_last_request_s": round(span, 1),
        "span_over_ideal": round(span / ideal, 3) if ideal else None,
        "request_gap_ms": {
            name: round(gaps_ms[min(len(gaps_ms) - 1, int(q * len(gaps_ms)))], 1)
            for name, q in (("min", 0.0), ("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
        }
        if gaps_ms
        else {},
        "seen_set_size": seen,
        "redis_growth_bytes": grown,
        "redis_bytes_per_seen_url": round(grown / seen_count) if seen_count else None,
        "seen_set_bytes": seen_bytes,
        "seen_set_bytes_per_url": round(seen_bytes / seen_count, 1) if seen_count else None,
        "redis_growth_by_family": dict(sorted(families.items(), key=lambda kv: -kv[1])[:12]),
        "fetch_rss_growth_mib": round((fetch1 - fetch0) / 1024, 1),
        "fetch_rss_start_mib": round(fetch0 / 1024, 1),
        "pipeline_rss_growth_mib": round((pipe1 - pipe0) / 1024, 1),
        "stored_as_article": len(stored),
        "article_precision": round(hits / len(stored), 4) if stored else None,
        "article_recall": round(hits / len(articles), 4) if articles else None,
        "article_recall_of_fetched": round(
            len(stored & fetched_articles) / len(fetched_articles), 4
        )
        if fetched_articles
        else None,
        "hubs_stored_examples": sorted(k for k in stored if truth.get(k) != ARTICLE)[:5],
        "articles_not_stored_examples": sorted(
            f"{k} ({by_key.get(k, 'not an item')})" for k in fetched_articles - stored
        )[:5],
        "items": len(items),
        "item_states": dict(sorted(states.items(), key=lambda kv: -kv[1])),
        "status": run["status"],
    }


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def checks(data: dict[str, Any]) -> dict[str, bool]:
    """Each target of the run, met or not."""
    per_url, over = data["fetches_per_in_scope_url"], data["elapsed_over_ideal"]
    return {
        "fetches_per_url": per_url is not None and per_url <= TARGET_FETCHES_PER_URL,
        "out_of_scope": data["out_of_scope_requests"] == 0,
        "elapsed": over is not None and over <= TARGET_ELAPSED_OVER_IDEAL,
    }


def render(data: dict[str, Any]) -> str:
    """The figures as plain text."""
    s = data["setup"]
    ok = checks(data)
    lines = [
        f"site of {s['site_pages']} pages ({s['site_articles']} articles) at {s['site']}, "
        f"depth {s['depth']}, {s['rate']:g} requests/s; {s['fetch_workers']} fetch worker(s) "
        f"x {s['fetch_threads']} threads, 1 pipeline worker x {s['pipeline_processes']}"
        f"{'' if s['tagging'] else ' (no tagging)'}; "
        f"job {s['job']}",
        "",
        f"fetches per in-scope URL:  {fmt(data['fetches_per_in_scope_url'])} "
        f"(target <= {TARGET_FETCHES_PER_URL}: {_mark(ok['fetches_per_url'])}); "
        f"{data['page_requests']} requests for {data['in_scope_pages_fetched']} pages, "
        f"{data['pages_fetched_twice']} fetched more than once"
        + (
            f" e.g. {', '.join(data['fetched_twice_examples'])}"
            if data["pages_fetched_twice"]
            else ""
        ),
        "pages fetched by kind:     "
        + ", ".join(f"{k} {v}" for k, v in sorted(data["fetched_by_kind"].items())),
        f"out-of-scope requests:     {data['out_of_scope_requests']} "
        f"(target 0: {_mark(ok['out_of_scope'])}); robots.txt-disallowed "
        f"{data['disallowed_requests']}; robots.txt {data['robots_requests']}",
        f"calendar-trap pages:       {data['trap_pages_fetched']} fetched",
        f"elapsed:                   {data['elapsed_s']:g} s against the ideal "
        f"{data['ideal_s']:g} s: x{fmt(data['elapsed_over_ideal'])} "
        f"(target <= {TARGET_ELAPSED_OVER_IDEAL}: {_mark(ok['elapsed'])}); first to last "
        f"request {data['first_to_last_request_s']:g} s (x{fmt(data['span_over_ideal'])})",
        "gaps between requests:     "
        + ", ".join(f"{k} {v:g} ms" for k, v in data["request_gap_ms"].items()),
        f"Redis per seen URL:        {fmt(data['seen_set_bytes_per_url'])} bytes in the "
        f"seen set's keys ({data['seen_set_bytes']} bytes for "
        f"{fmt(data['seen_set_size'])} URLs"
        + ("" if data["seen_set_size"] is not None else ", not in status: the job's items")
        + f"); all the run's keys: {fmt(data['redis_bytes_per_seen_url'])} bytes per seen "
        f"URL ({data['redis_growth_bytes']} bytes grown, the dedup index included)",
        "  by key family:           "
        + ", ".join(f"{k} {v}" for k, v in data["redis_growth_by_family"].items()),
        f"fetch worker RSS growth:   {data['fetch_rss_growth_mib']:g} MiB (from "
        f"{data['fetch_rss_start_mib']:g} MiB); pipeline worker "
        f"{data['pipeline_rss_growth_mib']:g} MiB",
        f"stored as an article:      {data['stored_as_article']}; precision "
        f"{fmt(data['article_precision'])}, recall {fmt(data['article_recall'])} (of the "
        f"articles fetched: {fmt(data['article_recall_of_fetched'])})",
    ]
    if data["hubs_stored_examples"]:
        lines.append(f"  hubs stored, e.g.:       {', '.join(data['hubs_stored_examples'])}")
    if data["articles_not_stored_examples"]:
        lines.append(
            f"  articles not stored:     {', '.join(data['articles_not_stored_examples'])}"
        )
    lines += [
        f"items ({data['items']}):"
        + "".join(f"\n  {k}: {v}" for k, v in data["item_states"].items()),
        f"load average (1 min):      {s['load_average_1m']} (other work skews the figures)",
    ]
    return "\n".join(lines)


def _run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    import redis

    with (
        redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
        fresh_store(args.database_url, work_dir) as database_url,
        NewsSite(args.pages, args.seed) as site,
    ):
        cluster = Cluster(redis_url, database_url, work_dir, _settings(args))
        client = redis.Redis.from_url(redis_url)
        progress(
            f"site: {len(site.map.truth())} pages at {site.base_url}; redis {redis_url}, "
            f"store {database_url.split(':', 1)[0]}"
        )
        try:
            workers = start_workers(cluster, args.workers, args.threads, args.processes)
            run = _crawl(args, site, cluster, workers, client)
        finally:
            client.close()
            cluster.stop()
        return _figures(args, site, run)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.site_crawl", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--pages", type=int, default=20000, help="site size (default 20000)")
    p.add_argument("--depth", type=int, default=5, help="crawl --depth (default 5)")
    p.add_argument("--rate", type=float, default=20.0, help="requests/s to the host (default 20)")
    p.add_argument("--max-pages", type=int, default=None, help="crawl --max-pages (default 2x)")
    p.add_argument("--workers", type=int, default=1, help="fetch worker processes (default 1)")
    p.add_argument("--threads", type=int, default=16, help="threads per fetch worker")
    p.add_argument("--processes", type=int, default=2, help="pipeline worker's processes")
    p.add_argument("--seed", type=int, default=1, help="the site's seed")
    p.add_argument(
        "--no-tagging",
        action="store_true",
        help="SLUICE_SPACY_MODELS empty: articles are stored without entities, so that the "
        "pipeline keeps up with the crawl on a small machine (default: tagged, as deployed)",
    )
    p.add_argument("--quiet", type=float, default=5.0, help="seconds with nothing new: the end")
    p.add_argument(
        "--stall-timeout", type=float, default=300.0, help="give up after this long unchanged"
    )
    add_service_options(p)
    return p


@time_limited("site_crawl")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_time_limit(parser, None, "three times the ideal plus 15 minutes")
    args = parser.parse_args(argv)
    if args.pages < 10 or args.depth < 1 or args.rate <= 0 or args.workers < 1:
        parser.error("--pages must be at least 10, --depth, --rate and --workers positive")
    arm(args.pages / args.rate * 3 + 900 if args.time_limit is None else args.time_limit)
    return report_run(args, "sluice-crawl-", _run, render, lambda data: all(checks(data).values()))


if __name__ == "__main__":
    raise SystemExit(main())
