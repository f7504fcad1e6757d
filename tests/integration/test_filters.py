"""Filters at the door, for URL lists, feeds, pages and archives: what is left out ends
``skipped`` with its reason; ``--language`` uses the language detected in the text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.warcs import article_html, record, warc
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

GERMAN = (
    "<p>Der Gemeinderat hat am Montag den Haushalt für das kommende Jahr beschlossen. "
    "Die Bürgermeisterin sagte, die Stadt werde mehr Geld für Schulen, Straßenbahnen und "
    "den Hochwasserschutz ausgeben, weil der Fluss im vergangenen Winter zweimal über die "
    "Ufer getreten sei. Die Opposition kritisierte die neuen Schulden scharf.</p>"
) * 6


def _german(n: int) -> str:
    return f"<html><body><article><h1>Haushalt {n}</h1>{GERMAN}</article></body></html>"


def _submit(workers: Cluster, *args: str) -> dict:
    result = workers.sluice("submit", *args, "--wait", "--timeout", "120", "--json")
    assert result.returncode in (0, 1), result.stderr + workers.logs()
    return json.loads(result.stdout)


def test_language_filter_on_urls_pages_and_archives(
    workers: Cluster, store: Store, web: WebServer, tmp_path: Path
) -> None:
    english = web.route("/filters/en.html", Response(body=article_html(301).encode()))
    german = web.route("/filters/de.html", Response(body=_german(302).encode()))
    counts = _submit(workers, english, german, "--language", "en")
    assert counts["states"] == {"stored": 1, "skipped": 1}
    assert counts["reasons"] == {"filtered_language": 1}
    items = {i["source"]: i for i in store.items(counts["job"])}
    assert items[german]["state"] == "skipped"

    path = warc(
        tmp_path / "mixed.warc.gz",
        [
            record("https://mixed.test/en.html", article_html(303)),
            record("https://mixed.test/de.html", _german(304)),
        ],
    )
    counts = _submit(workers, "--warc", path, "--language", "de")
    assert counts["states"] == {"stored": 1, "skipped": 1}
    stored = [i for i in store.items(counts["job"]) if i["state"] == "stored"]
    assert [i["source"] for i in stored] == ["https://mixed.test/de.html"]
    assert store.article(stored[0]["article_id"])["language"] == "de"


def test_domain_pattern_and_dates_at_the_door(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    kept = web.route("/door/news/kept.html", Response(body=article_html(310).encode()))
    other = web.route("/door/sport/other.html", Response(body=article_html(311).encode()))
    old = web.route("/door/news/old.html", Response(body=article_html(312).encode()))
    entries = "".join(
        f"<item><title>{n}</title><link>{link}</link><pubDate>{when} GMT</pubDate></item>"
        for n, (link, when) in enumerate(
            [
                (kept, "Mon, 30 Nov 2026 08:00:00"),
                (other, "Mon, 30 Nov 2026 09:00:00"),
                (old, "Thu, 01 Jan 2026 09:00:00"),
            ]
        )
    )
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{entries}'
    feed += "</channel></rss>"
    feed_url = web.route(
        "/door/feed.xml", Response(body=feed.encode(), content_type="application/rss+xml")
    )
    counts = _submit(
        workers,
        "--feed",
        feed_url,
        "https://elsewhere.test/x.html",
        "--url-pattern",
        "/news/",
        "--since",
        "2026-11-01",
        "--domain",
        "127.0.0.1",
    )
    items = {i["source"]: (i["state"], i["reason"]) for i in store.items(counts["job"])}
    assert items == {
        kept: ("stored", None),
        other: ("skipped", "filtered_url"),
        old: ("skipped", "filtered_date"),
        "https://elsewhere.test/x.html": ("skipped", "filtered_domain"),
    }
