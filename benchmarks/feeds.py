"""Feed polling at newsroom scale: thousands of registered feeds on many hosts, a publisher
that adds entries at varied rates, and what sluice's schedule makes of them.

    python -m benchmarks.feeds [--feeds 10000] [--hosts 100] [--minutes 15]
        [--database-url URL] [--workers 2] [--json FILE] ...

A simulated publisher serves ``--feeds`` RSS feeds from ``--hosts`` loopback addresses
(127.0.0.2, 127.0.0.3, …: distinct hosts to the fetcher), one HTTP server per address. Each
feed lists its latest ``--keep-entries`` entries (guid, pubDate = the real publish time, a
link to an article page on the same host, made by ``tests/support/pages.py`` so no two share
text). Its profile, drawn with ``--seed``:

* ``minutes``: ``--minutes-share`` of the feeds publish every ``--minutes-every`` seconds
  (a random gap in that range each time; default 1 % of feeds, every 120-300 s);
* ``hourly``: ``--hourly-share`` publish about every ``--hourly-every`` seconds (±20 %,
  random phase; default 10 %, every 3600 s);
* ``never``: the rest list no entries and never publish.

The shares keep the full pipeline (spaCy tagging included) under about one article per
second on two cores: 100 feeds every 3.5 minutes and 1,000 hourly make 0.75 articles/s.
A publishing feed starts with ``--history`` entries dated before the run at its own pace,
as a real feed would, so its first poll can learn the pace from their dates; their pages
answer 410 Gone, so this backlog costs one fetch each and not the pipeline. Hosts answer
conditional requests as publishers do: most send an ETag and a Last-Modified (and answer
If-None-Match / If-Modified-Since with 304), every tenth host from the ninth only a
Last-Modified, and every tenth from the tenth no validator at all (the same body again:
sluice counts it unchanged by its hash). The publisher records each publish time and each
poll (its time, 200 or 304, and whether a 200's body equals what that feed last sent).

The feeds are registered as a user would: an OPML file, ``sluice feeds import FILE``.
``--workers`` fetch workers (``sluice worker --stages fetch``) poll and fetch, and one worker
serves extract, dedup, tag and store (``SLUICE_CHAIN_STAGES=all``, as the throughput
benchmark runs it), against a Redis database reserved for the run and a fresh store
(SQLite, or a new database on ``--database-url``'s PostgreSQL server). The fetch workers run
with ``SLUICE_FEED_SCHEDULER=false``: the one feed scheduler runs in this process, in a
thread, so its own CPU time can be read (``time.thread_time`` around each ``step()``).

Interval settings: the product's defaults (``SLUICE_FEED_INTERVAL`` 900 s, ``…_MIN_INTERVAL``
300 s, ``…_MAX_INTERVAL`` 86400 s), which a newsroom would keep: five minutes is as often as
a publisher expects a reader to ask. ``--interval``, ``--min-interval`` and
``--max-interval`` change them, e.g. for a short trial::

    python -m benchmarks.feeds --feeds 300 --hosts 20 --minutes 3 --interval 60 \\
        --min-interval 30 --max-interval 600 --minutes-every 20,60 --hourly-every 120 \\
        --minutes-share 0.05 --grace 90

After ``--minutes`` the publisher stops and the run waits up to ``--grace`` seconds for the
entries in flight. It prints:

* publish-to-stored latency (the article row's ``created_at`` minus the publish time), p50
  and p95, overall and per profile, next to the profile's learned poll interval (median of
  the feeds' ``interval`` at the end) and its publishing gap;
* polls per feed per hour per profile, over the run and over its second half (the first
  polls and the learning are in the first), against the least needed: a publishing feed's
  publishes per hour (one poll per new entry at best), a silent feed's
  3600 / ``SLUICE_FEED_MAX_INTERVAL``;
* the share of polls answered 304 or 200-unchanged;
* entries missed, which must be 0: entries a poll was answered with (in its 200's document,
  or the 304 of a version that held them) before the publisher stopped, or published more
  than ``SLUICE_FEED_MAX_INTERVAL`` x 1.1 (the jitter) before it stopped, that are not stored
  after the grace; and items created twice (one link twice in a feed's job), articles stored
  twice (one entry's guid on two articles) and feeds polled twice (two requests closer than
  half ``SLUICE_FEED_MIN_INTERVAL``), which must be 0 too;
* the scheduler's CPU seconds per hour per 1,000 feeds, and the fetch and pipeline workers'
  (their processes from ``/proc``: polls, article fetches, the stages);
* Redis bytes per feed (the run's database, key by key with ``MEMORY USAGE``, and the
  server's ``used_memory``; both from before the import to the end, so the dedup index and
  the fetch state of the stored articles are in them), and store bytes per feed: the
  registry (``feeds`` + ``feed_entries``, from SQLite's ``dbstat`` or PostgreSQL's
  ``pg_total_relation_size``; articles excluded) and the whole store's growth (articles,
  entities, pages and items included).

It exits 1 when an entry was missed or anything was made, stored or polled twice.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from hashlib import sha256
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from benchmarks.crawl_run import epoch, progress, redis_bytes, start_workers
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
from benchmarks.loopback import serving
from benchmarks.processes import ProcessWatch, process_cpu_seconds
from benchmarks.time_limit import add_time_limit, arm, time_limited
from tests.support.cluster import Cluster
from tests.support.pages import article_page
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database
from tests.support.site_server import AnswerServer

__all__ = ["Publisher", "main"]

PROFILES = ("minutes", "hourly", "never")
_VALIDATORS = ("etag+last-modified", "last-modified", "none")
_RSS = "application/rss+xml; charset=utf-8"


def _validators_of(host: int) -> str:
    """What a host sends: most both validators, one in ten Last-Modified only, one none."""
    return _VALIDATORS[{8: 1, 9: 2}.get(host % 10, 0)]


# --- the publisher -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a feed; ``seq`` is its position among the feed's entries."""

    seq: int
    published: float
    guid: str
    link: str
    history: bool  # dated before the run; its page answers 410 Gone


@dataclass(frozen=True, slots=True)
class Poll:
    """One request for a feed: when, its status, whether a 200 sent the same body as the
    feed's previous 200, and how many entries the feed had then (those it was answered with)."""

    at: float
    status: int
    unchanged: bool
    entries: int


@dataclass
class SimFeed:
    """A simulated feed: its profile, entries (oldest first), current document and polls."""

    index: int
    host: int
    url: str
    profile: str
    validators: str
    entries: list[Entry] = field(default_factory=list)
    body: bytes = b""
    body_hash: str = ""
    etag: str = ""
    modified: int = 0  # Last-Modified, whole seconds since the epoch
    last_sent: str | None = None
    polls: list[Poll] = field(default_factory=list)


class Publisher:
    """Feeds and article pages for every host, published on each feed's profile."""

    def __init__(
        self, base_urls: list[str], args: argparse.Namespace, started: float, run_id: str
    ) -> None:
        self.base_urls = base_urls
        self.keep = args.keep_entries
        self.run_id = run_id
        self.lock = threading.Lock()
        self.pages: dict[str, bytes] = {}
        self._rng = random.Random(args.seed)
        self._gaps: dict[str, Callable[[], float]] = {
            "minutes": lambda: self._rng.uniform(*args.minutes_every),
            "hourly": lambda: args.hourly_every * self._rng.uniform(0.8, 1.2),
        }
        profiles = _profiles(args.feeds, args.minutes_share, args.hourly_share, self._rng)
        self.feeds: list[SimFeed] = []
        for index, profile in enumerate(profiles):
            host = index % len(base_urls)
            feed = SimFeed(
                index, host, f"{base_urls[host]}/f/{index}.xml", profile, _validators_of(host)
            )
            if profile != "never":
                dates = list(
                    itertools.accumulate(self._gaps[profile]() for _ in range(args.history))
                )
                for published in sorted(started - d for d in dates):
                    self._add_entry(feed, published, history=True)
            self._render(feed, started)
            self.feeds.append(feed)
        self._queue: list[tuple[float, int]] = []
        for feed in self.feeds:
            if feed.profile != "never":
                phase = self._rng.uniform(0, self._gaps[feed.profile]())
                self._queue.append((started + phase, feed.index))
        heapq.heapify(self._queue)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)

    def _add_entry(self, feed: SimFeed, published: float, *, history: bool) -> Entry:
        seq = len(feed.entries)
        folder = "old" if history else "a"
        entry = Entry(
            seq,
            published,
            f"bench-{self.run_id}-{feed.index}-{seq}",
            f"{self.base_urls[feed.host]}/{folder}/{feed.index}/{seq}.html",
            history,
        )
        feed.entries.append(entry)
        return entry

    def _render(self, feed: SimFeed, now: float) -> None:
        """The feed's document, validators and Last-Modified after a change."""
        items = "".join(
            f"<item><title>Story {e.seq} of feed {feed.index}</title>"
            f"<link>{escape(e.link)}</link>"
            f'<guid isPermaLink="false">{escape(e.guid)}</guid>'
            f"<pubDate>{format_datetime(datetime.fromtimestamp(e.published, UTC), usegmt=True)}"
            "</pubDate></item>"
            for e in reversed(feed.entries[-self.keep :])
        )
        feed.body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Desk {feed.index}</title><link>{escape(self.base_urls[feed.host])}/</link>"
            f"<description>News desk {feed.index}</description>{items}</channel></rss>"
        ).encode()
        feed.body_hash = sha256(feed.body).hexdigest()
        feed.etag = f'"{feed.body_hash[:20]}"'
        # Strictly later each time: two versions within one second must not share one date,
        # or If-Modified-Since would be answered 304 with a new entry unseen.
        feed.modified = max(int(now), feed.modified + 1)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set() and self._queue:
            due, index = self._queue[0]
            wait = due - time.time()
            if wait > 0:
                self._stopping.wait(min(wait, 0.5))
                continue
            heapq.heappop(self._queue)
            self.publish(self.feeds[index])
            heapq.heappush(self._queue, (due + self._gaps[self.feeds[index].profile](), index))

    def publish(self, feed: SimFeed) -> Entry:
        """A new entry on top of ``feed``, its article page served from now on."""
        now = time.time()
        page = article_page(f"Story {len(feed.entries)} of feed {feed.index}")
        with self.lock:
            entry = self._add_entry(feed, now, history=False)
            self.pages[entry.link.removeprefix(self.base_urls[feed.host])] = page
            self._render(feed, now)
        return entry

    def answer(self, path: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body for a GET of ``path``."""
        path = path.split("?", 1)[0]
        if path.startswith("/f/") and path.endswith(".xml"):
            try:
                feed = self.feeds[int(path[3:-4])]
            except (ValueError, IndexError):
                return 404, {}, b""
            return self._feed(feed, headers)
        if path.startswith("/a/"):
            with self.lock:
                page = self.pages.get(path)
            if page is not None:
                return 200, {"Content-Type": "text/html; charset=utf-8"}, page
        if path.startswith("/old/"):
            return 410, {"Content-Type": "text/plain"}, b"gone from the archive"
        return 404, {"Content-Type": "text/plain"}, b""  # robots.txt too: crawl everything

    def _feed(self, feed: SimFeed, headers: Any) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            sent = {"Content-Type": _RSS}
            if feed.validators != "none":
                sent["Last-Modified"] = formatdate(feed.modified, usegmt=True)
            if feed.validators == "etag+last-modified":
                sent["ETag"] = feed.etag
            if self._not_modified(feed, headers):
                feed.polls.append(Poll(time.time(), 304, True, len(feed.entries)))
                return 304, sent, b""
            unchanged = feed.last_sent == feed.body_hash
            feed.last_sent = feed.body_hash
            feed.polls.append(Poll(time.time(), 200, unchanged, len(feed.entries)))
            return 200, sent, feed.body

    @staticmethod
    def _not_modified(feed: SimFeed, headers: Any) -> bool:
        """RFC 9110: If-None-Match when sent (and an ETag is used), else If-Modified-Since."""
        match = headers.get("If-None-Match")
        if match is not None and feed.validators == "etag+last-modified":
            tags = [t.strip().removeprefix("W/") for t in match.split(",")]
            return feed.etag in tags or "*" in tags
        since = headers.get("If-Modified-Since")
        if since is None or feed.validators == "none":
            return False
        try:
            return parsedate_to_datetime(since).timestamp() >= feed.modified
        except (TypeError, ValueError):
            return False


def _profiles(feeds: int, minutes: float, hourly: float, rng: random.Random) -> list[str]:
    """Each feed's profile: exact shares, shuffled with the run's seed."""
    n_minutes, n_hourly = round(feeds * minutes), round(feeds * hourly)
    profiles = ["minutes"] * n_minutes + ["hourly"] * n_hourly
    profiles += ["never"] * (feeds - len(profiles))
    rng.shuffle(profiles)
    return profiles


class _HostServer(AnswerServer):
    """One publisher host: the run's :class:`Publisher` answers (set once it knows every
    host's URL)."""

    publisher: Publisher

    def __init__(self, address: str) -> None:
        super().__init__(address, self._answer)

    def _answer(self, target: str, headers: Any) -> tuple[int, dict[str, str], bytes]:
        return self.publisher.answer(target, headers)


# --- the scheduler, timed ----------------------------------------------------------------


class _TimedScheduler:
    """One ``FeedScheduler`` in a thread of this process, its CPU time summed over every
    ``step()`` (``time.thread_time``: this thread's CPU alone)."""

    def __init__(self) -> None:
        from sluice.workers.feeds.scheduler import FeedScheduler

        timed = self

        class Timed(FeedScheduler):
            def step(self) -> int:
                start = time.thread_time()
                try:
                    result = super().step()
                finally:
                    timed.cpu += time.thread_time() - start
                    timed.steps += 1
                timed.sent += result if isinstance(result, int) else 0
                return result

        self.cpu = 0.0
        self.steps = 0
        self.sent = 0
        self.thread = Timed()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.thread.stop()
        self.thread.join(timeout=60)


# --- measuring the services --------------------------------------------------------------


def _redis_bytes(client: Any) -> int:
    """Bytes the run's Redis database holds, key by key (``MEMORY USAGE``); the key that
    reserves the database for the run is left out."""
    return sum(redis_bytes(client).values())


def _table_bytes(database_url: str) -> tuple[dict[str, int], str]:
    """Bytes per table (its indexes included) and how they were measured."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from sluice.shared.db.engine import get_engine

    engine = get_engine(database_url)
    if engine.dialect.name == "postgresql":
        query = text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        )
        how = "pg_total_relation_size"
    else:
        query = text(
            "SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat AS s "
            "JOIN sqlite_master AS m ON m.name = s.name GROUP BY m.tbl_name"
        )
        how = "SQLite dbstat"
    try:
        with engine.connect() as conn:
            return {str(name): int(size or 0) for name, size in conn.execute(query)}, how
    except OperationalError:  # SQLite built without dbstat: the files, as one figure
        path = Path(engine.url.database or "")
        files = [path, path.with_name(path.name + "-wal")]
        return {"(file)": sum(p.stat().st_size for p in files if p.exists())}, "file size"


def _group_cpu(watch: ProcessWatch, processes: list[Any]) -> float:
    """CPU seconds used so far by these worker processes and their descendants."""
    return sum(
        process_cpu_seconds(pid)
        for process in processes
        if process.poll() is None
        for pid in watch.tree(process.pid)
    )


def _stored_count(database_url: str) -> int:
    from sqlalchemy import func, select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import articles

    with read_scope(database_url) as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(articles).where(articles.c.feed_id.isnot(None))
            ).scalar()
            or 0
        )


@dataclass
class _StoreView:
    """What the store holds at the end, for the feeds of the run."""

    feeds: dict[str, dict[str, Any]]  # by URL
    stored_at: dict[str, float]  # by entry guid: the article row's created_at
    guid_twice: int
    items_twice: int
    item_states: dict[str, int]


def _read_store(database_url: str) -> _StoreView:
    from sqlalchemy import func, select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import articles, feeds, items

    with read_scope(database_url) as conn:
        feed_rows = {row.url: dict(row._mapping) for row in conn.execute(select(feeds))}
        stored: dict[str, float] = {}
        guid_twice = 0
        for guid, created in conn.execute(
            select(articles.c.entry_guid, articles.c.created_at).where(
                articles.c.feed_id.isnot(None)
            )
        ):
            if guid in stored:
                guid_twice += 1
            at = epoch(created)
            stored[guid] = min(at, stored.get(guid, at))
        twice = conn.execute(
            select(func.count()).select_from(
                select(items.c.job_id, items.c.source)
                .group_by(items.c.job_id, items.c.source)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar()
        states = {
            f"{state}" + (f" ({reason})" if reason else ""): int(n)
            for state, reason, n in conn.execute(
                select(items.c.state, items.c.reason, func.count()).group_by(
                    items.c.state, items.c.reason
                )
            )
        }
    return _StoreView(feed_rows, stored, guid_twice, int(twice or 0), states)


# --- the run -----------------------------------------------------------------------------


def _write_opml(path: Path, feeds: list[SimFeed]) -> None:
    outlines = "\n".join(
        f"    <outline type={quoteattr('rss')} text={quoteattr(f'Desk {f.index}')} "
        f"xmlUrl={quoteattr(f.url)}/>"
        for f in feeds
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0"><head>'
        "<title>Newsroom feeds</title></head><body>\n"
        f'  <outline text="Desks">\n{outlines}\n  </outline>\n</body></opml>\n'
    )


def _settings(args: argparse.Namespace) -> dict[str, str]:
    return {
        "SLUICE_CHAIN_STAGES": "all",
        # The one scheduler runs in this process, timed; the workers only poll and fetch.
        "SLUICE_FEED_SCHEDULER": "false",
        **feed_settings(args),
    }


def _run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
    import redis

    with (
        redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
        fresh_store(args.database_url, work_dir, keep=False) as database_url,
        serving(_HostServer, args.hosts) as servers,
    ):
        cluster = Cluster(redis_url, database_url, work_dir, _settings(args))
        os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("SLUICE_")})
        from sluice.shared.db import upgrade_database
        from sluice.shared.settings import get_settings
        from sluice.workers.celery import reconfigure

        get_settings.cache_clear()
        reconfigure()
        settings = get_settings()
        upgrade_database(database_url)
        progress(
            f"{args.feeds} feeds on {args.hosts} hosts for {args.minutes:g} min; redis "
            f"{redis_url}, store {database_url.split(':', 1)[0]}; feed interval "
            f"{settings.feed_interval:g} s, learned within {settings.feed_min_interval:g}-"
            f"{settings.feed_max_interval:g} s"
        )
        scheduler: _TimedScheduler | None = None
        client = redis.Redis.from_url(redis_url)
        try:
            workers = start_workers(cluster, args.workers, args.concurrency, args.processes)
            fetchers, pipeline, watch = workers.fetchers, workers.pipeline, workers.watch

            run_id = os.urandom(4).hex()
            publisher = Publisher([s.base_url for s in servers], args, time.time(), run_id)
            for server in servers:
                server.publisher = publisher
            redis_before = _redis_bytes(client)
            used_before = int(client.info("memory")["used_memory"])
            tables_before, _ = _table_bytes(database_url)

            opml = work_dir / "newsroom.opml"
            _write_opml(opml, publisher.feeds)
            started = time.monotonic()
            # First polls spread over the minimum interval, as every import was before
            # `--spread` (now first polls are due at once unless asked otherwise).
            spread = str((args.min_interval or 300.0) / 60)
            done = cluster.sluice(
                "feeds", "import", str(opml), "--spread", spread, "--json", timeout=3600
            )
            import_seconds = time.monotonic() - started
            if done.returncode != 0:
                raise RuntimeError(f"sluice feeds import failed:\n{done.stdout}{done.stderr}")
            imported = json.loads(done.stdout)
            if len(imported["registered"]) != args.feeds or imported["refused"]:
                raise RuntimeError(f"import registered {len(imported['registered'])} feeds")
            progress(f"imported {args.feeds} feeds in {import_seconds:.1f} s")

            scheduler = _TimedScheduler()
            t0 = time.time()
            cpu0 = (_group_cpu(watch, fetchers), _group_cpu(watch, pipeline))
            scheduler.start()
            publisher.start()
            publish_for(
                cluster, t0, args.minutes * 60, lambda at: _running(publisher, database_url, at)
            )
            publisher.stop()
            t_end = time.time()
            scheduler_cpu, scheduler_steps = scheduler.cpu, scheduler.steps
            cpu1 = (_group_cpu(watch, fetchers), _group_cpu(watch, pipeline))
            progress(_running(publisher, database_url, t_end - t0) + "; publishing stopped")

            due = _due_entries(publisher, t_end, settings.feed_max_interval)

            def all_stored() -> bool:
                stored = _read_store(database_url).stored_at
                return all(e.guid in stored for _, e in due)

            wait_until(cluster, args.grace, all_stored)
            grace_seconds = time.time() - t_end
            scheduler.stop()
            scheduler = None
            time.sleep(2)  # polls in flight are answered and recorded
            view = _read_store(database_url)
            redis_after = _redis_bytes(client)
            used_after = int(client.info("memory")["used_memory"])
            tables_after, how = _table_bytes(database_url)
        finally:
            if scheduler is not None:
                scheduler.stop()
            client.close()
            cluster.stop()
        return _figures(
            args,
            publisher,
            view,
            settings=settings,
            window=(t0, t_end),
            grace_seconds=grace_seconds,
            import_seconds=import_seconds,
            scheduler=(scheduler_cpu, scheduler_steps),
            workers_cpu=(cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]),
            redis_bytes=(redis_before, redis_after, used_before, used_after),
            tables=(tables_before, tables_after, how),
            store=database_url.split(":", 1)[0],
        )


def _running(publisher: Publisher, database_url: str, elapsed: float) -> str:
    with publisher.lock:
        polls = [p for f in publisher.feeds for p in f.polls]
        published = sum(1 for f in publisher.feeds for e in f.entries if not e.history)
    answered = sum(1 for p in polls if p.status == 304)
    return (
        f"  {elapsed:6.0f} s: {published} published, {len(polls)} polls ({answered} x 304), "
        f"{_stored_count(database_url)} stored"
    )


def _due_entries(
    publisher: Publisher, t_end: float, max_interval: float
) -> list[tuple[str, Entry]]:
    """Entries that must be stored by the end of the grace, with why: a poll before the end
    was answered with them, or they are older than the longest interval (plus its jitter)."""
    due: list[tuple[str, Entry]] = []
    keep = publisher.keep
    with publisher.lock:
        for feed in publisher.feeds:
            # A poll was answered with the document of its moment: the latest ``keep`` entries.
            listed = {p.entries for p in feed.polls if p.at <= t_end}
            for entry in feed.entries:
                if entry.history:
                    continue
                if any(n - keep <= entry.seq < n for n in listed):
                    due.append(("answered", entry))
                elif entry.published < t_end - max_interval * 1.1:
                    due.append(("old", entry))
    return due


def _rate(count: float, feeds: int, seconds: float) -> float | None:
    return round(count / feeds / (seconds / 3600), 2) if feeds and seconds > 0 else None


def _figures(
    args: argparse.Namespace,
    publisher: Publisher,
    view: _StoreView,
    *,
    settings: Any,
    window: tuple[float, float],
    grace_seconds: float,
    import_seconds: float,
    scheduler: tuple[float, int],
    workers_cpu: tuple[float, float],
    redis_bytes: tuple[int, int, int, int],
    tables: tuple[dict[str, int], dict[str, int], str],
    store: str,
) -> dict[str, Any]:
    t0, t_end = window
    seconds = t_end - t0
    half = t0 + seconds / 2
    thousands = args.feeds / 1000
    hours = seconds / 3600
    profiles: dict[str, Any] = {}
    all_latencies: list[float] = []
    polls_total = answered_304 = same_200 = 0
    polls_twice = 0
    for profile in PROFILES:
        feeds = [f for f in publisher.feeds if f.profile == profile]
        entries = [e for f in feeds for e in f.entries if not e.history]
        latencies = [
            view.stored_at[e.guid] - e.published for e in entries if e.guid in view.stored_at
        ]
        all_latencies += latencies
        polls = [p for f in feeds for p in f.polls if t0 <= p.at <= t_end]
        late = [p for p in polls if p.at >= half]
        n304 = sum(1 for p in polls if p.status == 304)
        same = sum(1 for p in polls if p.status == 200 and p.unchanged)
        polls_total += len(polls)
        answered_304 += n304
        same_200 += same
        for feed in feeds:
            times = sorted(p.at for p in feed.polls)
            polls_twice += sum(
                1 for a, b in itertools.pairwise(times) if b - a < settings.feed_min_interval / 2
            )
        rows = [view.feeds.get(f.url, {}) for f in feeds]
        intervals = [float(r["interval"]) for r in rows if r.get("interval") is not None]
        published = [e.published for e in entries]
        gaps = [
            b.published - a.published
            for f in feeds
            for a, b in itertools.pairwise(e for e in f.entries if not e.history)
        ]
        needed = (
            _rate(len(published), len(feeds), seconds)
            if profile != "never"
            else round(3600 / settings.feed_max_interval, 3)
        )
        polls_per_hour = _rate(len(polls), len(feeds), seconds)
        profiles[profile] = {
            "feeds": len(feeds),
            "published": len(published),
            "stored": len(latencies),
            "publish_gap_median_s": seconds_at(gaps, 0.5),
            "learned_interval_median_s": seconds_at(intervals, 0.5),
            "learned_interval_p95_s": seconds_at(intervals, 0.95),
            "latency_p50_s": seconds_at(latencies, 0.5),
            "latency_p95_s": seconds_at(latencies, 0.95),
            "polls": len(polls),
            "polls_per_feed_hour": polls_per_hour,
            "polls_per_feed_hour_second_half": _rate(len(late), len(feeds), seconds / 2),
            "least_needed_per_feed_hour": needed,
            "polls_over_needed": (
                round(polls_per_hour / needed, 2) if polls_per_hour is not None and needed else None
            ),
            "share_304": round(n304 / len(polls), 3) if polls else None,
            "share_200_unchanged": round(same / len(polls), 3) if polls else None,
        }
    due = _due_entries(publisher, t_end, settings.feed_max_interval)
    missed = [(why, e) for why, e in due if e.guid not in view.stored_at]
    published_total = sum(p["published"] for p in profiles.values())
    with publisher.lock:
        requests = sum(len(f.polls) for f in publisher.feeds)
        waiting = sum(
            1
            for f in publisher.feeds
            for e in f.entries
            if not e.history and e.seq >= max((p.entries for p in f.polls), default=0)
        )
    counted = sum(int(r.get("polls") or 0) for r in view.feeds.values())
    by_validators: dict[str, Any] = {}
    for kind in _VALIDATORS:
        polls = [
            p
            for f in publisher.feeds
            if f.validators == kind
            for p in f.polls
            if t0 <= p.at <= t_end
        ]
        by_validators[kind] = {
            "polls": len(polls),
            "share_304": round(sum(p.status == 304 for p in polls) / len(polls), 3)
            if polls
            else None,
            "share_200_unchanged": round(
                sum(p.status == 200 and p.unchanged for p in polls) / len(polls), 3
            )
            if polls
            else None,
        }
    states: dict[str, int] = {}
    for row in view.feeds.values():
        key = row["state"] + (f" ({row['reason']})" if row.get("reason") else "")
        states[key] = states.get(key, 0) + 1
    before, after, how = tables
    registry = ("feeds", "feed_entries")
    redis_before, redis_after, used_before, used_after = redis_bytes
    return {
        "setup": {
            "feeds": args.feeds,
            "hosts": args.hosts,
            "minutes": args.minutes,
            "seconds_measured": round(seconds, 1),
            "grace_seconds": round(grace_seconds, 1),
            "fetch_workers": args.workers,
            "fetch_threads": args.concurrency,
            "pipeline_processes": args.processes,
            "store": store,
            "feed_interval_s": settings.feed_interval,
            "feed_min_interval_s": settings.feed_min_interval,
            "feed_max_interval_s": settings.feed_max_interval,
            "fetch_host_rate": settings.fetch_host_rate,
            "minutes_every_s": list(args.minutes_every),
            "hourly_every_s": args.hourly_every,
            "history_entries": sum(e.history for f in publisher.feeds for e in f.entries),
            "import_seconds": round(import_seconds, 1),
            "seed": args.seed,
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "profiles": profiles,
        "latency_p50_s": seconds_at(all_latencies, 0.5),
        "latency_p95_s": seconds_at(all_latencies, 0.95),
        "published": published_total,
        "stored": len(all_latencies),
        "waiting_for_a_poll_at_end": waiting,
        "polls": polls_total,
        "share_304": round(answered_304 / polls_total, 3) if polls_total else None,
        "share_200_unchanged": round(same_200 / polls_total, 3) if polls_total else None,
        "by_validators": by_validators,
        "share_304_or_unchanged": (
            round((answered_304 + same_200) / polls_total, 3) if polls_total else None
        ),
        "checks": {
            "entries_due": len(due),
            "entries_missed": len(missed),
            "missed_answered": sum(1 for why, _ in missed if why == "answered"),
            "missed_old": sum(1 for why, _ in missed if why == "old"),
            "missed_examples": [e.link for _, e in missed[:5]],
            "items_created_twice": view.items_twice,
            "articles_stored_twice": view.guid_twice,
            "feeds_polled_twice": polls_twice,
            "feed_requests_served": requests,
            "polls_counted_in_store": counted,
        },
        "feed_states": states,
        "item_states": view.item_states,
        "cpu": {
            "scheduler_s": round(scheduler[0], 3),
            "scheduler_steps": scheduler[1],
            "scheduler_s_per_hour_per_1000_feeds": round(scheduler[0] / hours / thousands, 3),
            "fetch_workers_s_per_hour_per_1000_feeds": round(workers_cpu[0] / hours / thousands, 2),
            "pipeline_worker_s_per_hour_per_1000_feeds": round(
                workers_cpu[1] / hours / thousands, 2
            ),
        },
        "memory": {
            "redis_bytes_per_feed": round((redis_after - redis_before) / args.feeds),
            "redis_used_memory_per_feed": round((used_after - used_before) / args.feeds),
            "store_measured_by": how,
            "registry_bytes_per_feed": (
                round(sum(after.get(t, 0) - before.get(t, 0) for t in registry) / args.feeds)
                if "(file)" not in after
                else None
            ),
            "store_bytes_per_feed": round(
                (sum(after.values()) - sum(before.values())) / args.feeds
            ),
            "store_tables_bytes": after,
        },
    }


def render(data: dict[str, Any]) -> str:
    """The figures as plain text."""
    s = data["setup"]
    lines = [
        f"{s['feeds']} feeds on {s['hosts']} hosts, {s['seconds_measured']:g} s of publishing "
        f"(+ {s['grace_seconds']:g} s grace); {s['fetch_workers']} fetch workers x "
        f"{s['fetch_threads']} threads, 1 pipeline worker x {s['pipeline_processes']}; "
        f"store {s['store']}",
        f"feed interval {s['feed_interval_s']:g} s, learned within {s['feed_min_interval_s']:g}"
        f"-{s['feed_max_interval_s']:g} s; host rate {s['fetch_host_rate']:g}/s; "
        f"import {s['import_seconds']:g} s; {s['history_entries']} history entries (410 Gone)",
        "",
        f"published {data['published']}, stored {data['stored']}, "
        f"{data['waiting_for_a_poll_at_end']} waiting for their feed's next poll at the end",
        f"publish-to-stored latency: p50 {fmt(data['latency_p50_s'], ' s')}, "
        f"p95 {fmt(data['latency_p95_s'], ' s')}",
        "",
        "per profile:",
    ]
    for name, p in data["profiles"].items():
        every = (
            f"every {'-'.join(f'{v:g}' for v in s['minutes_every_s'])} s"
            if name == "minutes"
            else (f"every ~{s['hourly_every_s']:g} s" if name == "hourly" else "never publishes")
        )
        lines += [
            f"  {name} ({p['feeds']} feeds, {every}): published {p['published']}, stored "
            f"{p['stored']}, median gap {fmt(p['publish_gap_median_s'], ' s')}",
            f"    latency p50 {fmt(p['latency_p50_s'], ' s')}, p95 "
            f"{fmt(p['latency_p95_s'], ' s')}; learned interval median "
            f"{fmt(p['learned_interval_median_s'], ' s')}, p95 "
            f"{fmt(p['learned_interval_p95_s'], ' s')}",
            f"    polls/feed/hour {fmt(p['polls_per_feed_hour'])} (second half "
            f"{fmt(p['polls_per_feed_hour_second_half'])}), least needed "
            f"{fmt(p['least_needed_per_feed_hour'])}: x{fmt(p['polls_over_needed'])}; "
            f"304 {fmt(p['share_304'])}, 200 unchanged {fmt(p['share_200_unchanged'])}",
        ]
    c = data["checks"]
    cpu, mem = data["cpu"], data["memory"]
    lines += [
        "",
        f"polls answered 304 or unchanged: {fmt(data['share_304_or_unchanged'])} of "
        f"{data['polls']} (304 {fmt(data['share_304'])}, "
        f"200 unchanged {fmt(data['share_200_unchanged'])})",
        "  by what the host sends: "
        + "; ".join(
            f"{kind}: 304 {fmt(v['share_304'])}, 200 unchanged {fmt(v['share_200_unchanged'])}"
            f" of {v['polls']}"
            for kind, v in data["by_validators"].items()
        ),
        f"entries missed:          {c['entries_missed']} of {c['entries_due']} due "
        f"({c['missed_answered']} answered by a poll, {c['missed_old']} older than the "
        "longest interval)"
        + (f" e.g. {', '.join(c['missed_examples'])}" if c["missed_examples"] else ""),
        f"items created twice:     {c['items_created_twice']}",
        f"articles stored twice:   {c['articles_stored_twice']}",
        f"feeds polled twice:      {c['feeds_polled_twice']} (requests closer than half the "
        f"minimum interval); {c['feed_requests_served']} feed requests served, "
        f"{c['polls_counted_in_store']} polls counted in the store",
        "feeds by state:          "
        + ", ".join(f"{k} {v}" for k, v in sorted(data["feed_states"].items())),
        "items by state:          "
        + ", ".join(f"{k} {v}" for k, v in sorted(data["item_states"].items())),
        "",
        f"scheduler CPU:           {cpu['scheduler_s_per_hour_per_1000_feeds']:g} s per hour "
        f"per 1,000 feeds ({cpu['scheduler_s']:g} s over {cpu['scheduler_steps']} steps)",
        f"fetch workers' CPU:      {cpu['fetch_workers_s_per_hour_per_1000_feeds']:g} s per "
        "hour per 1,000 feeds (polls and article fetches)",
        f"pipeline worker's CPU:   {cpu['pipeline_worker_s_per_hour_per_1000_feeds']:g} s per "
        "hour per 1,000 feeds (extract, dedup, tag, store)",
        f"Redis per feed:          {mem['redis_bytes_per_feed']} bytes (the run's keys), "
        f"{mem['redis_used_memory_per_feed']} bytes (server used_memory: other users' too)",
        f"store per feed:          {fmt(mem['registry_bytes_per_feed'])} bytes in feeds + "
        f"feed_entries, {mem['store_bytes_per_feed']} bytes in all tables "
        f"({mem['store_measured_by']})",
        f"load average (1 min):    {s['load_average_1m']} (other work skews the figures)",
    ]
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.feeds", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--feeds", type=int, default=10000, help="feeds to register (default 10000)")
    p.add_argument("--hosts", type=int, default=100, help="loopback hosts, 1-253 (default 100)")
    p.add_argument("--minutes", type=float, default=15, help="minutes of publishing (default 15)")
    p.add_argument("--grace", type=float, default=180, help="seconds for items in flight after")
    p.add_argument("--workers", type=int, default=2, help="fetch worker processes (default 2)")
    p.add_argument("--concurrency", type=int, default=16, help="threads per fetch worker")
    p.add_argument("--processes", type=int, default=1, help="pipeline worker's processes")
    add_feed_interval_options(p)
    p.add_argument("--minutes-share", type=float, default=0.01, help="feeds publishing often")
    p.add_argument("--minutes-every", type=pair, default=(120.0, 300.0), help="LOW,HIGH s")
    p.add_argument("--hourly-share", type=float, default=0.10, help="feeds publishing hourly")
    p.add_argument("--hourly-every", type=float, default=3600.0, help="their gap (s, ±20 %%)")
    p.add_argument("--history", type=int, default=3, help="entries a publishing feed has before")
    p.add_argument("--keep-entries", type=int, default=20, help="entries a document lists")
    p.add_argument("--seed", type=int, default=1, help="seed of profiles and publishing times")
    add_service_options(p)
    return p


@time_limited("feeds")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_time_limit(parser, None, "--minutes plus --grace plus 30 minutes")
    args = parser.parse_args(argv)
    arm(args.minutes * 60 + args.grace + 1800 if args.time_limit is None else args.time_limit)
    if not 1 <= args.hosts <= 253:
        parser.error("--hosts must be between 1 and 253 (127.0.0.2-127.0.0.254)")
    if args.feeds < 1 or args.workers < 1 or args.minutes <= 0:
        parser.error("--feeds, --workers and --minutes must be positive")
    if not 0 <= args.minutes_share + args.hourly_share <= 1:
        parser.error("--minutes-share and --hourly-share must add up to at most 1")
    return report_run(args, "sluice-feeds-", _run, render, _passed)


def _passed(data: dict[str, Any]) -> bool:
    c = data["checks"]
    twice = c["items_created_twice"] + c["articles_stored_twice"] + c["feeds_polled_twice"]
    return c["entries_missed"] == 0 and twice == 0


if __name__ == "__main__":
    raise SystemExit(main())
