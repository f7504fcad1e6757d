"""robots.txt per origin (RFC 9309): fetched once, cached in Redis, 4xx allows, 5xx and
silence disallow for now, rules and Crawl-delay obeyed, at most 500 KiB read."""

from __future__ import annotations

import time

import pytest
import redis

from sluice.shared.errors import PermanentError, RetryableError, SluiceError
from sluice.workers.fetching.crawler import Crawler, Deferred
from sluice.workers.fetching.robots import agent_token, origin_of
from tests.fetching.conftest import MakeCrawler, MakeServer
from tests.support.web import Response

HTML = b"<html><body><p>page</p></body></html>"


def _until_done(crawler: Crawler, url: str, holder: str = "job:0", limit: int = 20):  # type: ignore[no-untyped-def]
    """Visit until the crawler stops deferring, waiting as a re-queued task would."""
    for _ in range(limit):
        visit = crawler.visit(url, holder)
        if not isinstance(visit, Deferred):
            return visit
        time.sleep(visit.wait + 0.01)
    raise AssertionError("still deferred")


def _reason(call) -> tuple[type[SluiceError], str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SluiceError) as info:
        call()
    return type(info.value), info.value.reason


def test_the_agent_token_and_origin() -> None:
    assert agent_token("sluice/0.1 (news article pipeline)") == "sluice"
    assert origin_of("HTTP://News.Example:80/a?b") == "http://news.example"
    assert origin_of("https://user:pw@news.example:8443/a") == "https://news.example:8443"


def test_a_missing_robots_txt_allows_everything_and_is_fetched_once(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str, redis_client: redis.Redis
) -> None:
    server = make_server("127.0.0.2")  # /robots.txt answers 404
    urls = [server.route(f"{prefix}/{n}.html", Response(body=HTML)) for n in range(3)]
    crawler = make_crawler()
    for n, url in enumerate(urls):
        assert _until_done(crawler, url, f"job:{n}").body == HTML
    assert server.hits.count("/robots.txt") == 1
    # The verdict is in Redis with a TTL, for every worker of the cluster.
    key = f"sluice:robots:{origin_of(urls[0])}"
    assert redis_client.hget(key, "kind") == b"allow"
    assert 0 < redis_client.ttl(key) <= 86400
    # Another worker process (another crawler) does not ask again.
    other = make_crawler()
    assert _until_done(other, urls[0], "job:9").body == HTML
    assert server.hits.count("/robots.txt") == 1


def test_disallowed_paths_end_as_robots_disallowed(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    server.route(
        "/robots.txt",
        Response(
            body=f"User-agent: *\nDisallow: {prefix}/private/\n\n"
            f"User-agent: sluice\nDisallow: {prefix}/no-sluice\n".encode(),
            content_type="text/plain",
        ),
    )
    public = server.route(f"{prefix}/public.html", Response(body=HTML))
    private = server.route(f"{prefix}/private/a.html", Response(body=HTML))
    mine = server.route(f"{prefix}/no-sluice", Response(body=HTML))
    crawler = make_crawler()

    assert _until_done(crawler, public, "j:0").body == HTML
    # The sluice group applies to sluice, not the * group: /private/ is allowed to us.
    assert _until_done(crawler, private, "j:1").body == HTML
    assert _reason(lambda: _until_done(crawler, mine, "j:2")) == (
        PermanentError,
        "robots_disallowed",
    )
    assert f"{prefix}/no-sluice" not in server.hits


def test_a_failing_robots_txt_disallows_for_now(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    server.route("/robots.txt", Response(500, b"oops", content_type="text/plain"))
    url = server.route(f"{prefix}/a.html", Response(body=HTML))
    crawler = make_crawler(robots_error_ttl=1)

    error_type, reason = _reason(lambda: _until_done(crawler, url))
    assert (error_type, reason) == (RetryableError, "robots_disallowed")
    assert f"{prefix}/a.html" not in server.hits
    # Cached briefly: asked again once the verdict has expired, and now it answers.
    server.route("/robots.txt", Response(404, b""))
    assert _reason(lambda: crawler.visit(url, "job:0"))[1] == "robots_disallowed"
    time.sleep(1.1)
    assert _until_done(crawler, url).body == HTML
    assert server.hits.count("/robots.txt") == 2


def test_a_robots_txt_that_times_out_disallows(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")

    def silent(handler) -> Response:  # type: ignore[no-untyped-def]
        time.sleep(2.0)
        return Response(body=b"User-agent: *\nAllow: /\n", content_type="text/plain")

    server.route("/robots.txt", silent)
    url = server.route(f"{prefix}/a.html", Response(body=HTML))
    crawler = make_crawler(fetch_read_timeout=0.3)
    assert _reason(lambda: _until_done(crawler, url)) == (RetryableError, "robots_disallowed")
    assert f"{prefix}/a.html" not in server.hits


def test_only_the_first_500_kib_are_read(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    padding = b"# " + b"x" * (600 * 1024) + b"\n"
    server.route(
        "/robots.txt",
        Response(body=b"User-agent: *\n" + padding + f"Disallow: {prefix}/\n".encode()),
    )
    url = server.route(f"{prefix}/a.html", Response(body=HTML))
    assert _until_done(make_crawler(), url).body == HTML  # the rule past 500 KiB is not seen


def test_crawl_delay_spaces_the_requests(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    server.route("/robots.txt", Response(body=b"User-agent: *\nCrawl-delay: 1\n"))
    urls = [server.route(f"{prefix}/{n}.html", Response(body=HTML)) for n in range(2)]
    crawler = make_crawler(fetch_host_rate=50.0)
    assert _until_done(crawler, urls[0], "j:0").body == HTML
    visit = crawler.visit(urls[1], "j:1")
    assert isinstance(visit, Deferred)
    assert 0.8 < visit.wait <= 1.0


def test_crawl_delay_is_capped(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    server.route("/robots.txt", Response(body=b"User-agent: *\nCrawl-delay: 3600\n"))
    urls = [server.route(f"{prefix}/{n}.html", Response(body=HTML)) for n in range(2)]
    crawler = make_crawler(fetch_crawl_delay_max=0.5)
    assert _until_done(crawler, urls[0], "j:0").body == HTML
    visit = crawler.visit(urls[1], "j:1")
    assert isinstance(visit, Deferred) and visit.wait <= 0.5


def test_robots_of_a_private_host_is_never_fetched(make_crawler: MakeCrawler, prefix: str) -> None:
    crawler = make_crawler()
    assert _reason(lambda: crawler.visit("http://169.254.169.254/latest/", "j:0")) == (
        PermanentError,
        "blocked_address",
    )
