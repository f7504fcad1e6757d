"""Partial success is success: the sources that could be read are submitted, the others
reported with their reason, recorded in the job, and the exit code says so. Feeds and
sitemaps are read whatever content type they are served with, and a truncated one gives
the URLs before the cut and is reported as ``partial_document``."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from sluice.cli.errors import EXIT_SOME_SOURCES_FAILED
from tests.integration.conftest import Store, sample_page
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

XML = "application/xml"


def _rss(links: list[str]) -> bytes:
    items = "".join(f"<item><title>t</title><link>{link}</link></item>" for link in links)
    channel = f"<channel><title>f</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def _urlset(links: list[str]) -> bytes:
    locs = "".join(f"<url><loc>{link}</loc></url>" for link in links)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


def _index(children: list[str]) -> bytes:
    locs = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'.encode()


def test_good_sources_are_submitted_and_failed_ones_reported(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    p = f"/{uuid.uuid4().hex[:8]}"
    page = web.route(f"{p}/a.html", Response(body=sample_page("belgorod-euro-canals.html")))
    other = web.route(f"{p}/b.html", Response(body=sample_page("belgorod-lowland-ledger.html")))
    feed = web.route(f"{p}/feed.xml", Response(body=_rss([page]), content_type=XML))
    child = web.route(f"{p}/child.xml", Response(body=_urlset([other]), content_type=XML))
    index = web.route(
        f"{p}/index.xml",
        Response(body=_index([child, web.url(f"{p}/gone.xml")]), content_type=XML),
    )
    result = workers.sluice(
        "submit",
        "--feed",
        feed,
        "--feed",
        web.url(f"{p}/missing.xml"),
        "--sitemap",
        index,
        "--json",
    )
    assert result.returncode == EXIT_SOME_SOURCES_FAILED, result.stderr
    job_id = json.loads(result.stdout)["job"]
    assert "missing.xml: http_404" in result.stderr and "gone.xml: http_404" in result.stderr
    sources = {i["source"]: (i["kind"], i["state"], i["reason"]) for i in store.items(job_id)}
    assert sources[page][0] == sources[other][0] == "url"
    assert sources[web.url(f"{p}/missing.xml")] == ("feed", "failed", "http_404")
    assert sources[web.url(f"{p}/gone.xml")] == ("sitemap", "failed", "http_404")
    status = json.loads(workers.sluice("status", job_id, "--json").stdout)
    assert status["reasons"].get("http_404") == 2


def test_limits_are_settings_and_reaching_one_is_reported(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    p = f"/{uuid.uuid4().hex[:8]}"
    leaf = web.route(
        f"{p}/leaf.xml", Response(body=_urlset([web.url(f"{p}/x.html")]), content_type=XML)
    )
    # index0 → index1 → index2 → leaf: three levels of nesting above the leaf.
    parent = leaf
    for level in (2, 1, 0):
        parent = web.route(
            f"{p}/index{level}.xml", Response(body=_index([parent]), content_type=XML)
        )
    shallow = {**workers.env, "SLUICE_EXPAND_MAX_DEPTH": "1"}
    result = workers.run_with(shallow, "submit", "--sitemap", parent, "--json")
    assert result.returncode == 2, result.stderr  # nothing could be read within the limit
    assert "expand_limit" in result.stderr and "SLUICE_EXPAND_MAX_DEPTH=1" in result.stderr
    assert f"{p}/leaf.xml" not in web.hits

    enough = {**workers.env, "SLUICE_EXPAND_MAX_DEPTH": "3"}
    assert workers.run_with(enough, "submit", "--sitemap", parent).returncode == 0

    few = {**workers.env, "SLUICE_EXPAND_MAX_REQUESTS": "2"}
    result = workers.run_with(few, "submit", "--sitemap", parent, "--json")
    assert "SLUICE_EXPAND_MAX_REQUESTS=2" in result.stderr
    job_id = json.loads(result.stdout)["job"]
    reasons = [i["reason"] for i in store.items(job_id)]
    assert reasons == ["expand_limit"]


def test_feeds_and_sitemaps_served_with_odd_content_types(
    workers: Cluster, store: Store, web: WebServer
) -> None:
    """RSS as text/rss+xml, Atom (an enclosure, xml:base) as application/xml-dtd, JSON Feed
    and a gzipped sitemap with no type, a text sitemap, a sitemap cut in its sixth URL
    served as text/html: every URL before the cut is submitted, the cut is reported."""
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
