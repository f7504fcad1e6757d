"""workers.stages.fetch against a real local HTTP server, with small limits per test."""

from __future__ import annotations

import gzip
import hashlib
import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.identity import article_id_for_url, canonicalize_url
from sluice.shared.pages import load_page
from sluice.shared.settings import Settings
from sluice.workers.stages.fetch import Fetcher, fetch, identify
from tests.support.web import Response, WebServer

HTML = b"<html><head><title>t</title></head><body><p>Hello, harbour.</p></body></html>"

MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
def make_fetcher() -> Iterator[MakeFetcher]:
    """``make_fetcher(fetch_max_bytes=…)``: a Fetcher on Settings with these limits."""
    made: list[Fetcher] = []

    def make(**limits: Any) -> Fetcher:
        values: dict[str, Any] = {
            "fetch_connect_timeout": 2.0,
            "fetch_read_timeout": 2.0,
            "fetch_allow_networks": "127.0.0.0/8",  # the test server is on loopback
        }
        fetcher = Fetcher(Settings(**(values | limits)))
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def _redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", headers={"Location": location})


def _expect(error: type[Exception], reason: str, call: Callable[[], object]) -> Any:
    with pytest.raises(error) as info:
        call()
    assert info.value.reason == reason  # type: ignore[attr-defined]
    return info.value


# --- success ---------------------------------------------------------------------------------


def test_200_html(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    url = web.route(
        f"{prefix}/a.html",
        Response(body=HTML, content_type="text/html; charset=ISO-8859-1", headers={"ETag": '"v1"'}),
    )
    page = make_fetcher().get(url)
    assert page.url == url
    assert page.status == 200
    assert page.body == HTML
    assert page.content_type == "text/html"
    assert page.encoding == "iso-8859-1"
    assert page.headers == {"etag": '"v1"'}


def test_sends_the_configured_user_agent(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    seen: list[str | None] = []

    def record(handler: BaseHTTPRequestHandler) -> Response:
        seen.append(handler.headers.get("User-Agent"))
        return Response(body=HTML)

    url = web.route(f"{prefix}/ua.html", record)
    make_fetcher(user_agent="sluice-test/9").get(url)
    assert seen == ["sluice-test/9"]


def test_xhtml_is_accepted(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    url = web.route(f"{prefix}/x.xhtml", Response(body=HTML, content_type="application/xhtml+xml"))
    assert make_fetcher().get(url).content_type == "application/xhtml+xml"


def test_content_types_can_be_overridden(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    url = web.route(f"{prefix}/feed.xml", Response(body=b"<rss/>", content_type="text/xml"))
    fetcher = make_fetcher()
    _expect(PermanentError, "not_html", lambda: fetcher.get(url))
    assert fetcher.get(url, content_types=("text/xml",)).body == b"<rss/>"


def test_gzip_body_is_decoded(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    url = web.route(
        f"{prefix}/gz.html",
        Response(body=gzip.compress(HTML), headers={"Content-Encoding": "gzip"}),
    )
    assert make_fetcher().get(url).body == HTML


# --- redirects -------------------------------------------------------------------------------


def test_redirect_chain_is_followed_and_final_url_recorded(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    start = web.route(f"{prefix}/old", _redirect(f"{prefix}/moved", 301))  # absolute path
    web.route(f"{prefix}/moved", _redirect("again", 302))  # relative to /moved
    web.route(f"{prefix}/again", _redirect(web.url(f"{prefix}/final.html"), 307))  # absolute URL
    final = web.route(f"{prefix}/final.html", Response(body=HTML))

    page = make_fetcher(fetch_max_redirects=3).get(start)

    assert page.url == final
    assert page.body == HTML
    assert [hit for hit in web.hits if hit.startswith(prefix)] == [
        f"{prefix}/old",
        f"{prefix}/moved",
        f"{prefix}/again",
        f"{prefix}/final.html",
    ]


def test_too_many_redirects(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    for n in range(3):
        web.route(f"{prefix}/r{n}", _redirect(f"{prefix}/r{n + 1}"))
    web.route(f"{prefix}/r3", Response(body=HTML))
    start = web.url(f"{prefix}/r0")

    assert make_fetcher(fetch_max_redirects=3).get(start).url.endswith("/r3")
    fetcher = make_fetcher(fetch_max_redirects=2)
    _expect(PermanentError, "too_many_redirects", lambda: fetcher.get(start))


def test_redirect_loop_ends(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    url = web.route(f"{prefix}/loop", _redirect(f"{prefix}/loop"))
    fetcher = make_fetcher(fetch_max_redirects=5)
    _expect(PermanentError, "too_many_redirects", lambda: fetcher.get(url))
    assert web.hits.count(f"{prefix}/loop") == 6


def test_redirect_to_another_scheme_is_refused(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    url = web.route(f"{prefix}/to-file", _redirect("file:///etc/passwd"))
    fetcher = make_fetcher()
    _expect(PermanentError, "unsupported_scheme", lambda: fetcher.get(url))


# --- failures --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 410, 403])
def test_client_errors_are_permanent(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher, status: int
) -> None:
    url = web.route(f"{prefix}/e", Response(status, b"<h1>no</h1>"))
    fetcher = make_fetcher()
    _expect(PermanentError, f"http_{status}", lambda: fetcher.get(url))


@pytest.mark.parametrize("status", [503, 429, 500, 408])
def test_retryable_status_with_retry_after_seconds(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher, status: int
) -> None:
    url = web.route(f"{prefix}/busy", Response(status, b"busy", headers={"Retry-After": "7"}))
    fetcher = make_fetcher()
    error = _expect(RetryableError, f"http_{status}", lambda: fetcher.get(url))
    assert error.retry_after == 7.0


def test_retry_after_as_http_date(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    url = web.route(f"{prefix}/later", Response(429, b"", headers={"Retry-After": when}))
    fetcher = make_fetcher()
    error = _expect(RetryableError, "http_429", lambda: fetcher.get(url))
    assert 100 < error.retry_after <= 121


@pytest.mark.parametrize("value", [None, "soon"])
def test_missing_or_garbled_retry_after(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher, value: str | None
) -> None:
    headers = {"Retry-After": value} if value else {}
    url = web.route(f"{prefix}/down", Response(503, b"", headers=headers))
    fetcher = make_fetcher()
    assert _expect(RetryableError, "http_503", lambda: fetcher.get(url)).retry_after is None


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", ""])
def test_non_html_is_refused(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher, content_type: str
) -> None:
    url = web.route(f"{prefix}/file", Response(body=b"%PDF-1.4", content_type=content_type))
    fetcher = make_fetcher()
    _expect(PermanentError, "not_html", lambda: fetcher.get(url))


def test_body_over_the_cap_is_too_large(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    url = web.route(f"{prefix}/big.html", Response(body=b"<p>" + b"x" * 5000 + b"</p>"))
    fetcher = make_fetcher(fetch_max_bytes=1000)
    _expect(PermanentError, "too_large", lambda: fetcher.get(url))
    assert len(make_fetcher(fetch_max_bytes=5007).get(url).body) == 5007  # exactly the cap


def test_the_cap_counts_decoded_bytes(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    bomb = gzip.compress(b"<p>" + b"x" * 200_000)
    assert len(bomb) < 1000
    url = web.route(
        f"{prefix}/bomb.html", Response(body=bomb, headers={"Content-Encoding": "gzip"})
    )
    fetcher = make_fetcher(fetch_max_bytes=10_000)
    _expect(PermanentError, "too_large", lambda: fetcher.get(url))


def test_broken_compression_is_permanent(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    url = web.route(
        f"{prefix}/broken.html",
        Response(body=b"this is not gzip at all", headers={"Content-Encoding": "gzip"}),
    )
    fetcher = make_fetcher()
    _expect(PermanentError, "bad_encoding", lambda: fetcher.get(url))


def _stall(before_headers: bool) -> Callable[[BaseHTTPRequestHandler], None]:
    """A route that goes quiet for a second, before its headers or in its body."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        try:
            if before_headers:
                time.sleep(1.0)
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(HTML)))
            handler.end_headers()
            handler.wfile.write(HTML[:10])
            handler.wfile.flush()
            time.sleep(1.0)
            handler.wfile.write(HTML[10:])
        except OSError:
            handler.close_connection = True  # the client gave up, as it should

    return route


@pytest.mark.parametrize("before_headers", [True, False], ids=["headers", "body"])
def test_slow_server_times_out(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher, before_headers: bool
) -> None:
    url = web.route(f"{prefix}/slow.html", _stall(before_headers))
    fetcher = make_fetcher(fetch_read_timeout=0.2)
    started = time.monotonic()
    _expect(RetryableError, "timeout", lambda: fetcher.get(url))
    assert time.monotonic() - started < 0.9


def test_trickling_server_hits_the_total_deadline(
    web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    # Every read is quick, but the whole body would take two seconds.
    def trickle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "40")
        handler.end_headers()
        try:
            for _ in range(40):
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.05)
        except OSError:
            pass

    url = web.route(f"{prefix}/trickle.html", trickle)
    fetcher = make_fetcher(fetch_read_timeout=1.0, fetch_total_timeout=0.3)
    started = time.monotonic()
    _expect(RetryableError, "timeout", lambda: fetcher.get(url))
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_retryable(make_fetcher: MakeFetcher) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fetcher = make_fetcher()
    _expect(RetryableError, "connection_error", lambda: fetcher.get(f"http://127.0.0.1:{port}/"))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/a.html", "file:///etc/passwd", "data:,hi"])
def test_unsupported_scheme(make_fetcher: MakeFetcher, url: str) -> None:
    fetcher = make_fetcher()
    _expect(PermanentError, "unsupported_scheme", lambda: fetcher.get(url))


def test_errors_pickle(web: WebServer, prefix: str, make_fetcher: MakeFetcher) -> None:
    import pickle

    url = web.route(f"{prefix}/p", Response(503, b"", headers={"Retry-After": "3"}))
    fetcher = make_fetcher()
    error = _expect(RetryableError, "http_503", lambda: fetcher.get(url))
    again = pickle.loads(pickle.dumps(error))
    assert (again.reason, again.detail, again.retry_after) == ("http_503", error.detail, 3.0)


# --- the stage function ----------------------------------------------------------------------


def test_identify_sets_canonical_url_and_id() -> None:
    article = identify(Article("j", 0, url="HTTPS://Example.com:443/a?utm_source=x#top"))
    assert article.canonical_url == "https://example.com/a"
    assert article.id == article_id_for_url("https://example.com/a")


@pytest.mark.parametrize(("url", "reason"), [(None, "no_url"), ("/relative", "invalid_url")])
def test_identify_refuses_what_cannot_be_fetched(url: str | None, reason: str) -> None:
    _expect(PermanentError, reason, lambda: identify(Article("j", 0, url=url)))


def test_fetch_stores_the_raw_page(
    database_url: str, web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    body = "<html><body><p>Ein Hafen öffnet wieder.</p></body></html>".encode("iso-8859-1")
    submitted = web.route(f"{prefix}/a.html", _redirect(f"{prefix}/b")) + "?utm_source=feed"
    final = web.route(
        f"{prefix}/b", Response(body=body, content_type="text/html; charset=iso-8859-1")
    )
    article = Article("job", 3, url=submitted)

    fetch(article, make_fetcher())

    assert article.id == article_id_for_url(canonicalize_url(submitted))
    assert article.canonical_url == canonicalize_url(final)  # where the page really is
    assert article.page_id == hashlib.sha256(body).hexdigest()
    page = load_page(article.page_id)
    assert page is not None
    assert page.body == body
    assert (page.url, page.content_type, page.encoding) == (final, "text/html", "iso-8859-1")


def test_fetching_the_same_bytes_twice_keeps_one_page(
    database_url: str, web: WebServer, prefix: str, make_fetcher: MakeFetcher
) -> None:
    url = web.route(f"{prefix}/same.html", Response(body=HTML + prefix.encode()))
    fetcher = make_fetcher()
    first = fetch(Article("job", 0, url=url), fetcher).page_id
    second = fetch(Article("job", 1, url=url), fetcher).page_id
    assert first == second
    assert load_page(first).body == HTML + prefix.encode()  # type: ignore[arg-type, union-attr]


def test_load_page_of_an_unknown_id(database_url: str) -> None:
    assert load_page("0" * 64) is None
