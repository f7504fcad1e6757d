"""``sluice feeds discover`` finds a site's feeds and sitemaps (and registers them with
``--add``); ``submit --feed`` on an HTML page says which feeds the page names."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.feeds.conftest import FeedServer
from tests.support.cluster import run_sluice
from tests.support.web import Response, WebServer


@pytest.fixture
def site() -> Iterator[WebServer]:
    server = WebServer("127.0.0.2")
    yield server
    server.close()


def _sluice(*args: str) -> tuple[int, str]:
    done = run_sluice(dict(os.environ), *args)
    return done.returncode, done.stdout + done.stderr


def test_discover_finds_linked_feeds_and_robots_sitemaps_and_adds_them(site: WebServer) -> None:
    feed = FeedServer(site)
    feed.publish("d1")
    home = (
        '<!doctype html><html><head><link rel="alternate" type="application/rss+xml" '
        f'href="{feed.prefix}/feed.xml" title="Top stories"></head><body>news</body></html>'
    ).encode()
    site.route("/", Response(body=home))
    site.route(
        "/robots.txt",
        Response(
            body=b"User-agent: *\nAllow: /\nSitemap: /news-map.xml\n", content_type="text/plain"
        ),
    )
    code, out = _sluice("feeds", "discover", site.url("/"), "--add", "--json")
    assert code == 0, out
    found = json.loads(out)
    assert [(d["url"], d["kind"], d["found_in"]) for d in found["found"]] == [
        (feed.url, "rss", "html"),
        (site.url("/news-map.xml"), "sitemap", "robots.txt"),
    ]
    assert sorted(r["url"] for r in found["registered"]) == sorted(
        [feed.url, site.url("/news-map.xml")]
    )
    code, out = _sluice("feeds", "show", feed.url, "--json")
    assert code == 0 and json.loads(out)["kind"] == "feed", out


def test_discover_tries_the_usual_paths_when_nothing_is_named(site: WebServer) -> None:
    feed = FeedServer(site)
    feed.publish("u1")
    site.route("/", Response(body=b"<html><body>no links here</body></html>"))
    site.route("/rss.xml", lambda handler: feed._feed(handler))
    code, out = _sluice("feeds", "discover", site.url("/"), "--json")
    assert code == 0, out
    found = json.loads(out)
    assert [(d["url"], d["found_in"]) for d in found["found"]] == [
        (site.url("/rss.xml"), "usual path")
    ]
    assert found["registered"] == []


def test_submit_feed_with_an_html_page_says_what_feeds_it_names(site: WebServer) -> None:
    page = site.route(
        "/front.html",
        Response(
            body=b'<html><head><link rel="alternate" type="application/atom+xml" '
            b'href="/atom.xml"></head><body>front page</body></html>'
        ),
    )
    code, out = _sluice("submit", "--feed", page)
    assert code != 0
    assert "feed_is_html" in out and site.url("/atom.xml") in out, out


def test_import_reads_opml_and_refuses_an_entity_declaring_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = os.urandom(4).hex()
    opml = tmp_path / "news.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body><outline text="World">'
        f'<outline text="A" xmlUrl="http://127.0.0.2/{run}/a.xml"/>'
        f'<outline text="B" xmlUrl="http://127.0.0.2/{run}/b.xml"/>'
        "</outline></body></opml>"
    )
    code, out = _sluice("feeds", "import", str(opml), "--json")
    assert code == 0, out
    registered = json.loads(out)["registered"]
    assert [r["url"] for r in registered] == [
        f"http://127.0.0.2/{run}/a.xml",
        f"http://127.0.0.2/{run}/b.xml",
    ]
    assert len({r["job"] for r in registered}) == 2  # one job per feed
    wide = tmp_path / "wide.opml"  # UTF-16 with its byte order mark, as some readers export
    wide.write_bytes(
        '<?xml version="1.0" encoding="UTF-16"?><opml version="2.0"><body>'
        f'<outline text="Été" xmlUrl="http://127.0.0.2/{run}/c.xml"/></body></opml>'.encode(
            "utf-16"
        )
    )
    code, out = _sluice("feeds", "import", str(wide), "--json")
    assert code == 0, out
    assert [r["url"] for r in json.loads(out)["registered"]] == [f"http://127.0.0.2/{run}/c.xml"]
    bomb = tmp_path / "bomb.opml"
    bomb.write_text('<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body/></opml>')
    code, out = _sluice("feeds", "import", str(bomb), "--json")
    assert code == 8 and json.loads(out)["error"] == "bad_feed_list", out
    code, out = _sluice("feeds", "show", "99999", "--json")
    assert code == 2 and json.loads(out)["error"] == "unknown_feed", out
