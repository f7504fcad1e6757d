"""One polite step at a time: deferral instead of sleeping, redirects hop by hop, conditional
re-fetches, 429 feedback into the host's budget, and what the pipeline keeps."""

from __future__ import annotations

import json
import time

import pytest

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError, RetryableError, SluiceError
from sluice.shared.pages import load_page
from sluice.workers.fetching.crawler import Crawler, Deferred, Unchanged
from sluice.workers.stages.fetch import fetch_politely
from tests.fetching.conftest import MakeCrawler, MakeServer
from tests.fetching.hostile import redirect
from tests.support.web import Response

HTML = b"<html><body><p>page</p></body></html>"


def _run(crawler: Crawler, url: str, holder: str = "j:0", conditional: bool = False):  # type: ignore[no-untyped-def]
    """Visit until done; returns (result, deferrals)."""
    deferrals: list[Deferred] = []
    for _ in range(30):
        visit = crawler.visit(url, holder, conditional=conditional)
        if not isinstance(visit, Deferred):
            return visit, deferrals
        deferrals.append(visit)
        time.sleep(visit.wait + 0.01)
    raise AssertionError("still deferred")


def test_a_host_whose_gate_is_far_defers_instead_of_waiting(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    urls = [server.route(f"{prefix}/{n}.html", Response(body=HTML)) for n in range(3)]
    crawler = make_crawler(fetch_host_rate=2.0)
    _run(crawler, urls[0], "j:0")  # robots.txt, then the page
    started = time.monotonic()
    second = crawler.visit(urls[1], "j:1")
    assert time.monotonic() - started < 0.1  # answered at once, nothing slept
    assert isinstance(second, Deferred) and 0.4 <= second.wait <= 0.5
    assert (second.why, second.url) == ("host budget", urls[1])


def test_a_gate_a_moment_away_is_waited_for(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    """A task released just ahead of its host's turn (the frontier's lookahead) waits it out
    and sends its request: one task run, not a deferral."""
    server = make_server("127.0.0.2")
    urls = [server.route(f"{prefix}/{n}.html", Response(body=HTML)) for n in range(2)]
    crawler = make_crawler(fetch_host_rate=10.0)  # 100 ms
    _run(crawler, urls[0], "j:0")
    started = time.monotonic()
    page = crawler.visit(urls[1], "j:1")
    assert not isinstance(page, Deferred) and page.body == HTML
    assert 0.05 <= time.monotonic() - started <= 0.2


def test_redirects_are_followed_one_request_per_step(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    start = server.route(f"{prefix}/old", redirect(f"{prefix}/moved", 301))
    server.route(f"{prefix}/moved", redirect(f"{prefix}/final.html"))
    final = server.route(f"{prefix}/final.html", Response(body=HTML))
    page, deferrals = _run(make_crawler(), start)
    assert page.url == final
    assert [d.why for d in deferrals if d.why != "host budget"] == [
        "robots.txt fetched",
        "redirected",
        "redirected",
    ]
    assert [h for h in server.hits if h.startswith(prefix)] == [
        f"{prefix}/old",
        f"{prefix}/moved",
        f"{prefix}/final.html",
    ]


def test_a_redirect_loop_ends_as_too_many_redirects(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    url = server.route(f"{prefix}/loop", redirect(f"{prefix}/loop"))
    with pytest.raises(PermanentError) as info:
        _run(make_crawler(fetch_max_redirects=3), url)
    assert info.value.reason == "too_many_redirects"
    assert server.hits.count(f"{prefix}/loop") == 4


def test_a_conditional_refetch_of_an_unchanged_page(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    sent: list[tuple[str | None, str | None]] = []
    modified = "Tue, 01 Apr 2025 08:00:00 GMT"

    def page(handler) -> Response:  # type: ignore[no-untyped-def]
        etag = handler.headers.get("If-None-Match")
        since = handler.headers.get("If-Modified-Since")
        sent.append((etag, since))
        if etag == '"v1"':
            return Response(304, b"")
        return Response(body=HTML, headers={"ETag": '"v1"', "Last-Modified": modified})

    url = server.route(f"{prefix}/a.html", page)
    crawler = make_crawler()
    first, _ = _run(crawler, url, "j:0")
    again, _ = _run(crawler, url, "j:1", conditional=True)
    plain, _ = _run(crawler, url + "?utm_source=x", "j:2")  # not a re-fetch: nothing sent

    assert first.body == HTML
    assert again == Unchanged(url)
    assert plain.body == HTML
    assert sent == [(None, None), ('"v1"', modified), (None, None)]


def test_429_slows_the_host_and_carries_a_capped_retry_after(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    url = server.route(f"{prefix}/busy", Response(429, b"", headers={"Retry-After": "99999"}))
    other = server.route(f"{prefix}/other.html", Response(body=HTML))
    crawler = make_crawler(fetch_retry_after_max=2.0, fetch_host_rate=20.0)
    with pytest.raises(RetryableError) as info:
        _run(crawler, url)
    assert (info.value.reason, info.value.retry_after) == ("http_429", 2.0)
    # The whole host waits out the Retry-After, then runs on a widened interval.
    visit = crawler.visit(other, "j:1")
    assert isinstance(visit, Deferred) and 1.8 < visit.wait <= 2.0
    assert crawler.budget.slowdown("127.0.0.2") == 0.1
    page, _ = _run(crawler, other, "j:1")
    assert page.body == HTML
    assert crawler.budget.slowdown("127.0.0.2") == 0.075  # each normal answer narrows it


@pytest.mark.parametrize("status", [404, 403, 410])
def test_client_errors_end_at_once(
    make_server: MakeServer, make_crawler: MakeCrawler, prefix: str, status: int
) -> None:
    url = make_server("127.0.0.2").route(f"{prefix}/e", Response(status, b"no"))
    with pytest.raises(SluiceError) as info:
        _run(make_crawler(), url)
    assert (type(info.value), info.value.reason) == (PermanentError, f"http_{status}")


def test_the_pipeline_keeps_the_page_compressed_and_the_message_small(
    database_url: str, make_server: MakeServer, make_crawler: MakeCrawler, prefix: str
) -> None:
    import hashlib

    from sqlalchemy import select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import pages

    body = b"<html><body>" + b"<p>The harbour reopens after the storm.</p>" * 5000 + b"</body>"
    url = make_server("127.0.0.2").route(f"{prefix}/big.html", Response(body=body))
    article = Article("job", 0, url=url)
    crawler = make_crawler()
    outcome = fetch_politely(article, crawler)
    while isinstance(outcome, Deferred):
        time.sleep(outcome.wait + 0.01)
        outcome = fetch_politely(article, crawler)

    assert article.page_id == hashlib.sha256(body).hexdigest()
    assert load_page(article.page_id).body == body  # type: ignore[union-attr]
    with read_scope() as conn:
        stored = conn.execute(select(pages.c.body).where(pages.c.id == article.page_id)).scalar()
    assert len(stored) < len(body) / 20  # zstd
    assert len(json.dumps(article.to_dict())) < 1000  # the queue carries the key, not the page


@pytest.mark.parametrize("url", ["ftp://127.0.0.2/a.txt", "file:///etc/passwd"])
def test_other_schemes_end_before_robots_or_budget(
    make_crawler: MakeCrawler, redis_client, url: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermanentError) as info:
        make_crawler().visit(url, "j:0")
    assert info.value.reason == "unsupported_scheme"
    assert list(redis_client.scan_iter("sluice:*")) == []
