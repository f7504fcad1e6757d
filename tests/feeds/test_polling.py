"""Registered feeds polled by real fetch workers (two of them, so two schedulers race for
every poll) against a local feed server whose entries change between polls.

Each test ends with the feed in a clear state with its reason, and checks that nothing
already stored was touched.
"""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from celery import Celery
from sqlalchemy import func, select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, items
from tests.feeds.conftest import DISABLE_AFTER, MAX_NEW, FeedServer, article_page, wait_for_polls
from tests.feeds.conftest import feed_row as _row
from tests.feeds.conftest import sluice_json as _sluice_json
from tests.feeds.conftest import wait_for as _until
from tests.support.cluster import Cluster
from tests.support.events import recorded_events, settle
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration


def _add(cluster: Cluster, url: str, *options: str) -> dict[str, Any]:
    added = _sluice_json(cluster, "feeds", "add", url, *options)
    assert added["refused"] == [] and len(added["registered"]) == 1
    return dict(added["registered"][0])


def _show(cluster: Cluster, feed_id: int) -> dict[str, Any]:
    """The feed as ``sluice feeds show --json`` prints it."""
    return dict(_sluice_json(cluster, "feeds", "show", str(feed_id)))


def _items(cluster: Cluster, job_id: str) -> list[dict[str, Any]]:
    with get_engine(cluster.database_url).connect() as conn:
        rows = conn.execute(select(items).where(items.c.job_id == job_id).order_by(items.c.item_id))
        return [dict(r._mapping) for r in rows]


def _stored(cluster: Cluster) -> int:
    with get_engine(cluster.database_url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(articles)).scalar() or 0)


def _articles_of(cluster: Cluster, feed_id: int) -> list[dict[str, Any]]:
    with get_engine(cluster.database_url).connect() as conn:
        rows = conn.execute(select(articles).where(articles.c.feed_id == feed_id))
        return [dict(r._mapping) for r in rows]


def test_new_entries_become_items_once_and_an_unchanged_feed_costs_a_304(
    feed_cluster: Cluster, web: WebServer
) -> None:
    feed = FeedServer(web)
    feed.publish("a", "b")
    added = _add(feed_cluster, feed.url)
    job = added["job"]
    _until(feed_cluster, lambda: len(_items(feed_cluster, job)) == 2, "the first two entries")
    _until(feed_cluster, lambda: 304 in feed.answers, "an unchanged poll answered 304")

    feed.publish("c", "d")  # 'a' drops off the feed (it keeps three)
    _until(feed_cluster, lambda: len(_items(feed_cluster, job)) == 4, "the two new entries")
    wait_for_polls(feed_cluster, added["id"], 3)

    _sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))
    time.sleep(1)  # a poll in flight ends
    sources = [row["source"] for row in _items(feed_cluster, job)]
    assert sorted(sources) == sorted(feed.article_url(s) for s in "abcd")  # each once
    shown = _show(feed_cluster, added["id"])
    assert shown["state"] == "paused" and shown["failures"] == 0
    assert shown["entries"] == 4
    assert shown["last_outcome"] == "feed_unchanged"
    # Two schedulers ran: every poll the store counts made exactly one request, none twice.
    assert len(feed.answers) == shown["polls"], (feed.answers, shown)

    stored = _until(
        feed_cluster,
        lambda: (rows := _articles_of(feed_cluster, added["id"])) and len(rows) == 4 and rows,
        "the four articles stored",
        timeout=120,
    )
    by_guid = {row["entry_guid"]: row for row in stored}
    assert set(by_guid) == {f"guid-{s}" for s in "abcd"}
    assert by_guid["guid-c"]["entry_title"] == "Story c"
    assert by_guid["guid-c"]["entry_published"].startswith("2026-12-01T")
    verify = feed_cluster.sluice("verify", job)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_a_feed_added_new_only_takes_only_what_appears_after_its_first_poll(
    feed_cluster: Cluster, web: WebServer
) -> None:
    feed = FeedServer(web)
    feed.publish("old-1", "old-2")
    added = _add(feed_cluster, feed.url, "--new-only")  # its first poll is within a second
    _until(
        feed_cluster,
        lambda: (row := _row(feed_cluster, added["id"]))["polls"] and not row["skip_listed"],
        "the first poll, which marks what is listed as seen",
    )
    job = added["job"]
    assert _items(feed_cluster, job) == []  # the listing at registration is history

    feed.publish("new-1")  # the feed now lists new-1, old-2, old-1
    _until(feed_cluster, lambda: _items(feed_cluster, job), "the entry published afterwards")
    wait_for_polls(feed_cluster, added["id"], 2)
    assert [row["source"] for row in _items(feed_cluster, job)] == [feed.article_url("new-1")]
    stored = _until(
        feed_cluster, lambda: _articles_of(feed_cluster, added["id"]), "its article stored"
    )
    assert [row["entry_guid"] for row in stored] == ["guid-new-1"]
    _sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))


def test_feeds_poll_polls_at_once_through_the_frontier_whatever_the_schedule(
    feed_cluster: Cluster, web: WebServer
) -> None:
    feed = FeedServer(web)
    feed.publish("now-1")
    added = _add(feed_cluster, feed.url, "--every", "60")  # then hourly
    job = added["job"]
    _until(feed_cluster, lambda: len(_items(feed_cluster, job)) == 1, "the first poll's entry")
    row = _until(
        feed_cluster,
        lambda: (row := _row(feed_cluster, added["id"]))["claim"] is None and row,
        "the first poll recorded",
    )
    assert row["polls"] == 1 and row["next_poll_at"] > time.time() + 3000
    feed.publish("now-2")

    polled = _sluice_json(feed_cluster, "feeds", "poll", feed.url)  # by URL; by id below
    assert polled == {"queued": [added["id"]], "already_polling": [], "not_active": []}
    _until(feed_cluster, lambda: len(_items(feed_cluster, job)) == 2, "the polled entry")
    assert len(feed.answers) == 2  # one request per poll, none from the CLI itself
    row = _until(
        feed_cluster,
        lambda: (row := _row(feed_cluster, added["id"]))["claim"] is None and row,
        "the second poll recorded",
    )
    assert row["polls"] == 2 and row["next_poll_at"] > time.time() + 3000

    _sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))
    paused = feed_cluster.sluice("feeds", "poll", str(added["id"]))
    assert paused.returncode == 1
    assert f"feed {added['id']}: paused, not polled" in paused.stdout
    unknown = feed_cluster.sluice("feeds", "poll", "999999")
    assert unknown.returncode == 2 and "no feed 999999" in unknown.stderr
    time.sleep(2)  # nothing more was polled: two answers, as before
    assert len(feed.answers) == 2
    _sluice_json(feed_cluster, "feeds", "remove", str(added["id"]))  # out of later counts


def test_a_dead_feed_is_disabled_with_its_reason_and_resumed_by_hand(
    feed_cluster: Cluster, web: WebServer
) -> None:
    stored_before = _stored(feed_cluster)
    url = web.route("/dead/feed.xml", Response(404, b"gone", content_type="text/plain"))
    added = _add(feed_cluster, url)
    shown = _until(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["state"] == "disabled" and f,
        "the dead feed disabled",
    )
    shown = _show(feed_cluster, added["id"])
    assert shown["reason"] == "http_404"
    assert shown["failures"] == DISABLE_AFTER
    listed = _sluice_json(feed_cluster, "feeds", "list", "--state", "disabled")
    assert [(f["id"], f["reason"]) for f in listed] == [(added["id"], "http_404")]
    hits = len([h for h in web.hits if h == "/dead/feed.xml"])
    time.sleep(2.5)  # a disabled feed is not polled
    assert len([h for h in web.hits if h == "/dead/feed.xml"]) == hits

    feed_server = FeedServer(web)
    feed_server.publish("z")
    web.route("/dead/feed.xml", lambda handler: feed_server._feed(handler))
    _sluice_json(feed_cluster, "feeds", "resume", str(added["id"]))
    shown = _until(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["entries"] == 1 and f,
        "the resumed feed polled",
    )
    assert shown["state"] == "active" and shown["reason"] is None and shown["failures"] == 0
    assert _stored(feed_cluster) >= stored_before


def test_a_moved_feed_follows_its_301(feed_cluster: Cluster, web: WebServer) -> None:
    feed = FeedServer(web)
    feed.publish("m1")
    old = web.route("/moved/feed.xml", Response(301, b"", headers={"Location": feed.url}))
    added = _add(feed_cluster, old)
    shown = _until(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["entries"] == 1 and f,
        "the moved feed polled",
    )
    assert shown["url"] == feed.url and shown["state"] == "active"
    assert [row["source"] for row in _items(feed_cluster, added["job"])] == [feed.article_url("m1")]


def test_an_html_page_is_not_a_feed_and_says_which_feeds_it_names(
    feed_cluster: Cluster, web: WebServer
) -> None:
    page = (
        b'<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        b'href="/real/feed.xml" title="News"></head><body>'
        + article_page("home")
        + b"</body></html>"
    )
    url = web.route("/home.html", Response(body=page))
    added = _add(feed_cluster, url)
    shown = _until(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["state"] == "disabled" and f,
        "the HTML 'feed' disabled",
    )
    shown = _show(feed_cluster, added["id"])
    assert shown["reason"] == "feed_is_html"
    assert web.url("/real/feed.xml") in shown["detail"]
    assert _items(feed_cluster, added["job"]) == []


def test_an_entity_bomb_is_refused_and_expands_nothing(
    feed_cluster: Cluster, web: WebServer
) -> None:
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {chr(98 + n)} "{("&" + chr(97 + n) + ";") * 10}">' for n in range(8)
    )
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [{entities}]><rss version="2.0"><channel>'
        f"<title>&i;</title><item><title>&i;</title><link>{web.url('/x.html')}</link></item>"
        "</channel></rss>"
    ).encode()
    url = web.route("/bomb.xml", Response(body=bomb, content_type="application/rss+xml"))
    added = _add(feed_cluster, url)
    shown = _until(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["state"] == "disabled" and f,
        "the entity bomb disabled",
    )
    assert shown["reason"] == "bad_feed" and "entities" in shown["detail"]
    assert _items(feed_cluster, added["job"]) == []


def test_feeds_and_sitemaps_are_polled_whatever_their_content_type(
    feed_cluster: Cluster, web: WebServer
) -> None:
    """An Atom feed served as text/atom+xml (its enclosure is no article, its links are
    relative to xml:base) and a gzipped sitemap served with no type, cut in its fourth
    URL: the feed gives its alternate link, the sitemap its first three URLs, and the
    sitemap's row says it was read in part."""
    atom = (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/odd/articles/">'
        b"<title>A</title><id>urn:odd</id><updated>2026-12-01T00:00:00Z</updated>"
        b"<entry><id>urn:odd:1</id><title>E</title><updated>2026-12-01T00:00:00Z</updated>"
        b'<link rel="enclosure" type="audio/mpeg" href="/odd/episode.mp3"/>'
        b'<link rel="alternate" type="text/html" href="story.html"/></entry></feed>'
    )
    locs = "".join(f"<url><loc>{web.url(f'/odd/map/{n}.html')}</loc></url>" for n in range(4))
    sitemap = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
    cut = sitemap[: sitemap.rindex("</loc>") - 2].encode()
    feed_url = web.route("/odd/atom", Response(body=atom, content_type="text/atom+xml"))
    map_url = web.route("/odd/map.gz", Response(body=gzip.compress(cut), content_type=""))
    feed = _add(feed_cluster, feed_url)
    mapped = _add(feed_cluster, map_url, "--sitemap")
    _until(feed_cluster, lambda: _items(feed_cluster, feed["job"]), "the feed's entry")
    _until(feed_cluster, lambda: len(_items(feed_cluster, mapped["job"])) >= 3, "three URLs")
    assert [r["source"] for r in _items(feed_cluster, feed["job"])] == [
        web.url("/odd/articles/story.html")
    ]
    assert [r["source"] for r in _items(feed_cluster, mapped["job"])] == [
        web.url(f"/odd/map/{n}.html") for n in range(3)
    ]
    row = _row(feed_cluster, mapped["id"])
    assert row["state"] == "active" and row["last_outcome"] in (
        "feed_new_entries",
        "feed_unchanged",
    )
    assert (row["detail"] or "").startswith("partial_document: truncated: 3 URLs"), row
    assert _row(feed_cluster, feed["id"])["detail"] is None


def test_a_news_sitemap_is_polled_like_a_feed_and_polls_are_tasks_flower_sees(
    feed_cluster: Cluster, web: WebServer
) -> None:
    first, second = web.url("/sm/one.html"), web.url("/sm/two.html")
    for url in (first, second):
        web.route(url.removeprefix(web.base_url), Response(body=article_page(url)))
    body = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
        f"<url><loc>{first}</loc><news:news><news:title>One</news:title>"
        "<news:publication_date>2026-12-01T08:00:00Z</news:publication_date></news:news></url>"
        f"<url><loc>{second}</loc><lastmod>2026-11-30</lastmod></url></urlset>"
    ).encode()
    url = web.route("/sm/news-sitemap.xml", Response(body=body, content_type="application/xml"))
    with recorded_events(feed_cluster.redis_url) as events:
        added = _add(feed_cluster, url, "--sitemap")
        _until(feed_cluster, lambda: len(_items(feed_cluster, added["job"])) == 2, "two items")
        settle(events)
    # Flower sees the poll as a task: its name, the feed (not the URL), and what it found.
    polls = {e["uuid"]: e for e in events if e.get("name") == "workers.feed_poll"}
    assert any(e["args"] == f"(feed={added['id']})" for e in polls.values()), events
    succeeded = [e for e in events if e["type"] == "task-succeeded" and e["uuid"] in polls]
    assert any("feed_new_entries new=2" in e["result"] for e in succeeded), succeeded
    stored = _until(
        feed_cluster,
        lambda: (rows := _articles_of(feed_cluster, added["id"])) and len(rows) == 2 and rows,
        "both sitemap articles stored",
        timeout=90,
    )
    by_url = {row["url"]: row for row in stored}
    assert by_url[first]["entry_title"] == "One"
    assert by_url[first]["entry_published"] == "2026-12-01T08:00:00+00:00"
    assert by_url[second]["entry_published"] == "2026-11-30T00:00:00+00:00"
    _sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))

    app = Celery(broker=feed_cluster.redis_url)
    try:
        registered = app.control.inspect(timeout=2).registered() or {}
    finally:
        app.close()
    fetch_workers = [name for name in registered if "feeds-" in name]
    assert len(fetch_workers) == 2
    assert all("workers.feed_poll" in registered[name] for name in fetch_workers)


def test_a_feed_of_100000_entries_makes_a_bounded_batch_of_items_per_poll(
    feed_cluster: Cluster, web: WebServer
) -> None:
    other_host = WebServer("127.0.0.3")  # its pages (all 404) do not slow 127.0.0.2 down
    try:
        links = "".join(
            f"<item><link>{other_host.url(f'/big/{n}')}</link></item>" for n in range(100_000)
        )
        body = f'<rss version="2.0"><channel><title>big</title>{links}</channel></rss>'.encode()
        url = web.route("/big.xml", Response(body=body, content_type="application/rss+xml"))
        # Polled once: a second poll (the next 300) would come only after ten minutes, so
        # the job holds exactly the first poll's items however slowly the test looks.
        added = _add(feed_cluster, url, "--every", "600")
        shown = _until(
            feed_cluster,
            lambda: (f := _row(feed_cluster, added["id"]))["polls"] >= 1 and f,
            "the big feed polled",
            timeout=120,
        )
        _sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))
        assert (shown["state"], shown["last_outcome"]) == ("active", "feed_new_entries")
        assert shown["entries"] == shown["last_new"] == MAX_NEW  # the rest: next poll
        made = _items(feed_cluster, added["job"])
        assert [row["source"] for row in made] == [
            other_host.url(f"/big/{n}") for n in range(MAX_NEW)
        ]
    finally:
        other_host.close()


def test_metrics_show_feeds_per_state_polls_per_outcome_and_new_entries(
    feed_cluster: Cluster,
) -> None:
    """Runs after the tests above: their feeds and polls are in the figures."""
    from prometheus_client import generate_latest

    from sluice.shared.metrics.exporter import build_registry
    from sluice.shared.metrics.store_figures import CachedStoreFigures, read_store_figures
    from sluice.workers.pipeline import STAGES

    client = redis.Redis.from_url(feed_cluster.redis_url)
    store = CachedStoreFigures(0, lambda: read_store_figures(feed_cluster.database_url))
    scrape = generate_latest(build_registry(client, STAGES, store, 5, 0)).decode()
    client.close()
    series = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in scrape.splitlines()
        if line.startswith("sluice_feed")
    }
    per_state = {
        s: series[f'sluice_feeds{{state="{s}"}}'] for s in ("active", "paused", "disabled")
    }
    assert sum(per_state.values()) == 10  # every feed registered above, in one state each
    assert per_state["paused"] == 4 and per_state["disabled"] >= 2  # HTML page, bomb
    assert series['sluice_feeds_disabled{reason="feed_is_html"}'] >= 1
    assert series['sluice_feed_polls_total{outcome="feed_new_entries"}'] >= 3
    assert series['sluice_feed_polls_total{outcome="feed_unchanged"}'] >= 1
    assert series['sluice_feed_polls_total{outcome="http_404"}'] >= DISABLE_AFTER
    assert series['sluice_feed_polls_total{outcome="feed_is_html"}'] >= DISABLE_AFTER
    assert series["sluice_feed_new_entries_total"] >= 6
    # Every feed entry stored above was published long before it (the servers' fixed dates).
    assert series["sluice_feed_entry_lag_seconds_count"] >= 6
    assert series['sluice_feed_entry_lag_seconds_bucket{le="60.0"}'] == 0


# Shifts this interpreter's time.time by SLUICE_TEST_CLOCK_SHIFT seconds, as on a machine
# whose clock is off, and notes the shifted time in a file named after the process.
SHIFTED_CLOCK = """
import os, time
_shift = float(os.environ["SLUICE_TEST_CLOCK_SHIFT"])
_time, _time_ns = time.time, time.time_ns
time.time = lambda: _time() + _shift
time.time_ns = lambda: _time_ns() + int(_shift * 1e9)
with open(os.path.join(os.environ["SLUICE_TEST_CLOCK_NOTES"], str(os.getpid())), "w") as f:
    f.write(repr(time.time() - _time()))
"""


def test_fetch_workers_ten_minutes_off_poll_no_feed_twice_within_its_interval(
    feed_cluster: Cluster, web: WebServer, tmp_path: Path
) -> None:
    """A fetch worker ten minutes behind and one ten minutes ahead, beside the module's two
    correct ones: every feed is polled at its interval, never twice within it (claims and
    due times are on Redis's clock), and no worker's messages are taken for a dead one's."""
    (tmp_path / "sitecustomize.py").write_text(SHIFTED_CLOCK)
    notes = tmp_path / "clocks"
    notes.mkdir()
    skewed = [
        feed_cluster.start_worker(
            "--stages",
            "fetch",
            "--concurrency",
            "2",
            "--name",
            f"feeds-{name}",
            env={
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(tmp_path), os.environ.get("PYTHONPATH")) if p
                ),
                "SLUICE_TEST_CLOCK_SHIFT": str(shift),
                "SLUICE_TEST_CLOCK_NOTES": str(notes),
            },
        )
        for name, shift in (("behind", -600), ("ahead", 600))
    ]
    every = 6.0
    try:
        feed_cluster.wait_ready(("fetch",), timeout=120, nodes=5)
        for process, shift in zip(skewed, (-600, 600), strict=True):
            assert round(float((notes / str(process.pid)).read_text())) == shift  # inside
        servers = [FeedServer(web) for _ in range(4)]
        added = []
        for n, feed in enumerate(servers):
            feed.publish(f"clock-{n}")
            added.append(_add(feed_cluster, feed.url, "--every", str(every / 60)))
        _until(
            feed_cluster,
            lambda: all(len(feed.polled_at) >= 4 for feed in servers),
            "four polls of every feed",
            timeout=120,
        )
        for feed_added in added:
            _sluice_json(feed_cluster, "feeds", "pause", str(feed_added["id"]))
        for process in skewed:  # both schedulers took part
            assert "feed scheduler started" in feed_cluster.log_of(process)
    finally:
        for process in skewed:
            os.killpg(process.pid, signal.SIGTERM)
        for process in skewed:
            process.wait(timeout=30)
            feed_cluster.processes.remove(process)
    # Jitter moves an interval by up to 10 %; a poll reaches the server a moment after its
    # claim. Two schedulers claiming one feed at once would poll it twice within a second.
    for feed in servers:
        gaps = [later - earlier for earlier, later in itertools.pairwise(feed.polled_at)]
        assert min(gaps) > 0.9 * every - 1.5, (feed.url, gaps)
    logs = feed_cluster.logs()
    assert "stopped beating" not in logs and "Restoring" not in logs, logs


def test_a_restart_of_every_fetch_worker_loses_no_schedule_and_polls_nothing_twice(
    feed_cluster: Cluster, web: WebServer
) -> None:
    """Runs last: it stops the module's fetch workers (one of them killed outright)."""
    feed = FeedServer(web)
    feed.publish("r1")
    added = _add(feed_cluster, feed.url, "--every", "0.05")  # every 3 s
    _until(feed_cluster, lambda: len(_items(feed_cluster, added["job"])) == 1, "the first entry")
    fetchers = feed_cluster.processes[:2]
    os.killpg(fetchers[0].pid, signal.SIGKILL)  # mid-whatever it was doing
    os.killpg(fetchers[1].pid, signal.SIGTERM)
    for process in fetchers:
        process.wait(timeout=30)
        feed_cluster.processes.remove(process)  # gone on purpose, not "exited early"
    feed.publish("r2")
    time.sleep(4)  # due while no scheduler runs
    assert len(_items(feed_cluster, added["job"])) == 1
    feed_cluster.start_worker("--stages", "fetch", "--concurrency", "4", "--name", "feeds-c")
    feed_cluster.wait_ready(timeout=120)
    # A claim the killed worker took (its poll never sent) lapses only after
    # SLUICE_FEED_POLL_LEASE (60 s here): the entry may come that long after the restart.
    _until(
        feed_cluster,
        lambda: len(_items(feed_cluster, added["job"])) == 2,
        "the new entry",
        timeout=120,
    )
    _sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))
    time.sleep(1)
    shown = _row(feed_cluster, added["id"])
    assert shown["entries"] == 2 and shown["state"] == "paused"
    # A poll claimed by the killed worker (if any) lapsed and was claimed again; it could
    # make at most one request the store did not count.
    assert shown["polls"] <= len(feed.answers) <= shown["polls"] + 1, (feed.answers, shown)
