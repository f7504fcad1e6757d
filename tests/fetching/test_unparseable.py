"""Unparseable URLs, redirect targets and robots.txt answers end at once with their reason."""

from __future__ import annotations

import time

import pytest
import redis

from sluice.shared.errors import PermanentError, SluiceError
from sluice.workers.fetching.crawler import Crawler, Deferred
from sluice.workers.fetching.robots import origin_of
from sluice.workers.fetching.urls import check_url
from tests.fetching.conftest import MakeCrawler, MakeFetcher, MakeServer
from tests.support.web import Response

HTML = b"<html><body><p>page</p></body></html>"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://0177.0.0.1/a", "invalid_url"),
        ("http://0x7f.1/a", "invalid_url"),
        ("http://2130706433/a", "invalid_url"),
        ("http://127.1/a", "invalid_url"),
        ("http://1.2.3.4.5/a", "invalid_url"),
        ("http://[::1/a", "invalid_url"),
        ("http://exa mple.com/a", "invalid_url"),
        ("http://%41.example/a", "invalid_url"),
        ("http://xn--/a", "invalid_url"),
        ("http://127.0.0.1:99999/a", "invalid_url"),
        ("http://127.0.0.1:port/a", "invalid_url"),
        ("http:///a", "invalid_url"),
        ("http://a..example/a", "invalid_url"),
        ("javascript:alert(1)", "unsupported_scheme"),
        ("file:///etc/passwd", "unsupported_scheme"),
        ("//127.0.0.2/a", "invalid_url"),
        ("/relative", "invalid_url"),
    ],
)
def test_unfetchable_urls_are_refused_before_any_lookup(url: str, reason: str) -> None:
    with pytest.raises(PermanentError) as info:
        check_url(url)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    "url", ["http://127.0.0.2/a", "https://news.example/a?b=1", "http://[::1]:8080/", "http://x./"]
)
def test_ordinary_urls_pass(url: str) -> None:
    check_url(url)


def _until_done(crawler: Crawler, url: str, holder: str = "job:0", limit: int = 20):  # type: ignore[no-untyped-def]
    for _ in range(limit):
        visit = crawler.visit(url, holder)
        if not isinstance(visit, Deferred):
            return visit
        time.sleep(visit.wait + 0.01)
    raise AssertionError("still deferred")


def test_an_octal_host_ends_invalid_url_at_once_and_asks_nothing(
    make_crawler: MakeCrawler,
) -> None:
    started = time.monotonic()
    with pytest.raises(PermanentError) as info:
        make_crawler().visit("http://0177.0.0.1/page.html", "job:0")
    assert info.value.reason == "invalid_url"
    assert time.monotonic() - started < 1


@pytest.mark.parametrize("location", ["http://0177.0.0.1/x", "http://[::1/x", "http://a b/x"])
def test_a_redirect_to_an_unparseable_url_is_bad_redirect(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str, location: str
) -> None:
    server = make_server("127.0.0.2")
    url = server.route(f"{prefix}/r", Response(302, headers={"Location": location}))
    with pytest.raises(SluiceError) as info:
        make_fetcher().get(url)
    assert isinstance(info.value, PermanentError) and info.value.reason == "bad_redirect"


def test_a_robots_txt_redirecting_to_a_blocked_address_is_cached(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str, redis_client: redis.Redis
) -> None:
    server = make_server("127.0.0.2")
    server.route("/robots.txt", Response(301, headers={"Location": "http://127.0.0.1/robots.txt"}))
    urls = [server.route(f"{prefix}/{n}.html", Response(body=HTML)) for n in range(3)]
    crawler = make_crawler(fetch_allow_networks="127.0.0.2/32")
    for n, url in enumerate(urls):
        assert _until_done(crawler, url, f"job:{n}").body == HTML
    assert server.hits.count("/robots.txt") == 1
    key = f"sluice:robots:{origin_of(urls[0])}"
    assert redis_client.hget(key, "kind") == b"allow"
    assert b"robots_redirect_blocked" in redis_client.hget(key, "detail")
