"""``sluice submit --feed/--sitemap`` reads what the wild serves: feeds and sitemaps under
odd content types (or none), JSON Feed, Atom enclosures, gzipped and plain-text sitemaps,
and a truncated sitemap whose URLs before the cut are submitted and whose damage is
reported as ``partial_document``."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from sluice.cli.errors import EXIT_SOME_SOURCES_FAILED
from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _urlset(links: list[str]) -> bytes:
    locs = "".join(f"<url><loc>{link}</loc></url>" for link in links)
    return f'<?xml version="1.0"?><urlset xmlns="{SITEMAP_NS}">{locs}</urlset>'.encode()


def test_feeds_and_sitemaps_served_with_odd_content_types(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    p = f"/{uuid.uuid4().hex[:8]}"
    rss = (
        b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>R</title>'
        b"<item><title>Lock gates &#8211; a history</title><link>../news/rss.html</link>"
        b'<guid isPermaLink="false">?p=1</guid></item></channel></rss>'
    )
    atom = (
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="{web.url(p + "/atom/")}">'
        "<title>A</title><id>urn:a</id><updated>2026-12-01T00:00:00Z</updated>"
        "<entry><id>urn:1</id><title>E</title><updated>2026-12-01T00:00:00Z</updated>"
        '<link rel="enclosure" type="audio/mpeg" href="episode.mp3"/>'
        '<link rel="alternate" href="story.html"/></entry></feed>'
    ).encode()
    json_feed = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "url": "j.html"}]}
    ).encode()
    cut = _urlset([web.url(f"{p}/cut/{n}.html") for n in range(6)])
    cut = cut[: cut.rindex(b"</loc>") - 2]  # inside the sixth URL
    served = {
        "feeds/rss": (rss, "text/rss+xml"),
        "feeds/atom": (atom, "application/xml-dtd"),
        "feeds/json": (json_feed, ""),
        "maps/gz": (gzip.compress(_urlset([web.url(f"{p}/gz.html")])), ""),
        "maps/text": (web.url(f"{p}/text.html").encode() + b"\n", "text/plain"),
        "maps/cut": (cut, "text/html"),
    }
    urls = {
        name: web.route(f"{p}/{name}", Response(body=body, content_type=kind))
        for name, (body, kind) in served.items()
    }
    result = workers.sluice(
        "submit",
        *("--feed", urls["feeds/rss"], "--feed", urls["feeds/atom"], "--feed", urls["feeds/json"]),
        *("--sitemap", urls["maps/gz"], "--sitemap", urls["maps/text"]),
        *("--sitemap", urls["maps/cut"]),
        "--json",
    )
    assert result.returncode == EXIT_SOME_SOURCES_FAILED, result.stderr
    assert "partial_document: truncated: 5 URLs read" in result.stderr, result.stderr
    job_id = json.loads(result.stdout)["job"]
    recorded = store.items(job_id)
    assert {i["source"] for i in recorded if i["kind"] == "url"} == {
        web.url(f"{p}/news/rss.html"),
        web.url(f"{p}/atom/story.html"),
        web.url(f"{p}/feeds/j.html"),
        web.url(f"{p}/gz.html"),
        web.url(f"{p}/text.html"),
        *(web.url(f"{p}/cut/{n}.html") for n in range(5)),
    }
    sources = [(i["kind"], i["source"], i["reason"]) for i in recorded if i["kind"] != "url"]
    assert sources == [("sitemap", urls["maps/cut"], "partial_document")]
