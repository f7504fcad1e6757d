"""Watched section pages (``sluice feeds add --html``) polled by real fetch workers, as
feeds are: a section page on 127.0.0.2 gains article links between polls; another host on
127.0.0.3 counts any request it gets. ``feeds discover`` proposes sections when a site has
no feed."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, items
from tests.feeds.conftest import (
    DISABLE_AFTER,
    SectionServer,
    sluice_json,
    wait_for,
    wait_for_polls,
)
from tests.feeds.conftest import feed_row as _row
from tests.support.cluster import Cluster, run_sluice
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration


@pytest.fixture
def elsewhere() -> Iterator[WebServer]:
    """Another host, out of a section page's scope: it should hear nothing."""
    server = WebServer("127.0.0.3")
    yield server
    server.close()


def _add_section(cluster: Cluster, url: str) -> dict[str, Any]:
    added = sluice_json(cluster, "feeds", "add", "--html", url)
    assert added["refused"] == [] and len(added["registered"]) == 1
    return dict(added["registered"][0])


def _sources(cluster: Cluster, job_id: str) -> list[str]:
    with get_engine(cluster.database_url).connect() as conn:
        rows = conn.execute(
            select(items.c.source).where(items.c.job_id == job_id).order_by(items.c.item_id)
        )
        return [str(row[0]) for row in rows]


def _stored_urls(cluster: Cluster, feed_id: int) -> list[str]:
    with get_engine(cluster.database_url).connect() as conn:
        rows = conn.execute(select(articles.c.url).where(articles.c.feed_id == feed_id))
        return sorted(str(row[0]) for row in rows)


def test_a_watched_section_takes_each_new_article_link_once_and_no_hub_or_other_host(
    feed_cluster: Cluster, web: WebServer, elsewhere: WebServer
) -> None:
    section = SectionServer(web, elsewhere.url("/2026/12/01/partner-story-77.html"))
    section.publish("harbour-council-votes", "storm-closes-ferry")
    added = _add_section(feed_cluster, section.url)
    job = added["job"]
    story = section.web.url
    first_two = [
        story(section.story_path(s)) for s in ("storm-closes-ferry", "harbour-council-votes")
    ]
    wait_for(feed_cluster, lambda: _sources(feed_cluster, job) == first_two, "the first two")
    wait_for(feed_cluster, lambda: 304 in section.answers, "an unchanged page answered 304")

    section.publish("mayor-opens-station")  # a new link on top; the old two stay listed
    wait_for(feed_cluster, lambda: len(_sources(feed_cluster, job)) == 3, "the new link")
    wait_for_polls(feed_cluster, added["id"], 3)
    sluice_json(feed_cluster, "feeds", "pause", str(added["id"]))
    time.sleep(1)  # a poll in flight ends

    new_one = story(section.story_path("mayor-opens-station"))
    assert _sources(feed_cluster, job) == [*first_two, new_one]  # each once, no hub
    stored = wait_for(
        feed_cluster,
        lambda: (urls := _stored_urls(feed_cluster, added["id"])) and len(urls) == 3 and urls,
        "the three articles stored",
        timeout=120,
    )
    assert stored == sorted([*first_two, new_one])
    # Old links are not fetched again however often the page lists them; hub links and
    # the other host never are.
    for slug in ("harbour-council-votes", "storm-closes-ferry", "mayor-opens-station"):
        assert web.hits.count(section.story_path(slug)) == 1, (slug, web.hits)
    assert not set(section.hub_paths()) & set(web.hits)
    assert elsewhere.hits == []

    shown = sluice_json(feed_cluster, "feeds", "show", str(added["id"]))
    assert shown["kind"] == "section" and shown["state"] == "paused"
    assert shown["entries"] == 3 and shown["failures"] == 0
    assert shown["pace"] and shown["last_entry_at"]  # learned from when the new link came
    assert len(section.answers) == shown["polls"]  # one request per poll, whichever worker
    assert section.answers.count(304) >= 2
    wide = {**feed_cluster.env, "COLUMNS": "200"}
    listed = feed_cluster.run_with(wide, "feeds", "list")
    assert "html section" in listed.stdout, listed.stdout
    text = feed_cluster.run_with(wide, "feeds", "show", str(added["id"]))
    assert "kind: section (an HTML section page" in text.stdout, text.stdout


def test_a_section_page_that_turns_404_is_disabled_as_a_feed_would_be(
    feed_cluster: Cluster, web: WebServer, elsewhere: WebServer
) -> None:
    section = SectionServer(web, elsewhere.url("/x-y-z-1.html"))
    section.publish("last-story-published")
    added = _add_section(feed_cluster, section.url)
    wait_for(feed_cluster, lambda: _sources(feed_cluster, added["job"]), "its one story")
    web.route(f"{section.prefix}/section/world/", Response(404, b"gone", content_type="text/plain"))
    row = wait_for(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["state"] == "disabled" and f,
        "the dead section page disabled",
    )
    assert row["reason"] == "http_404" and row["failures"] == DISABLE_AFTER
    listed = sluice_json(feed_cluster, "feeds", "list", "--state", "disabled")
    assert (added["id"], "http_404", "section") in [
        (f["id"], f["reason"], f["kind"]) for f in listed
    ]
    assert len(_sources(feed_cluster, added["job"])) == 1


def test_a_feed_given_as_a_section_page_is_disabled_with_its_reason(
    feed_cluster: Cluster, web: WebServer
) -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    url = web.route("/sections/feed.xml", Response(body=body, content_type="application/rss+xml"))
    added = _add_section(feed_cluster, url)
    row = wait_for(
        feed_cluster,
        lambda: (f := _row(feed_cluster, added["id"]))["state"] == "disabled" and f,
        "the feed refused as a section page",
    )
    assert row["reason"] == "not_a_section_page" and "without --html" in row["detail"]


def test_discover_proposes_section_pages_when_a_site_has_no_feed(web: WebServer) -> None:
    home = (
        b"<!doctype html><html><body><nav><a href='/world'>World</a>"
        b"<a href='/section/politics/'>Politics</a><a href='/about'>About</a>"
        b"<a href='/tag/storms/'>Storms</a></nav>"
        b"<a href='/2026/12/01/council-votes-on-budget-3.html'>Council votes</a></body></html>"
    )
    web.route("/", Response(body=home))
    env = dict(os.environ)
    done = run_sluice(env, "feeds", "discover", web.url("/"), "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)["found"]
    assert [(d["url"], d["kind"]) for d in found] == [
        (web.url("/"), "section"),
        (web.url("/world"), "section"),
        (web.url("/section/politics/"), "section"),
    ]
    done = run_sluice(env | {"COLUMNS": "200"}, "feeds", "discover", web.url("/"))
    expected = f"sluice feeds add --html {web.url('/')} {web.url('/world')} "
    assert expected in done.stdout, done.stdout
