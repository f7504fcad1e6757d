"""Limits that hold against a hostile server: time, size (after decompression), redirects,
content types and charsets, each ending in its reason code."""

from __future__ import annotations

import time
import tracemalloc

import pytest

from sluice.shared.errors import PermanentError, RetryableError, SluiceError
from sluice.workers.stages.extract import decode_html
from tests.fetching.conftest import MakeFetcher, MakeServer
from tests.fetching.hostile import (
    CYRILLIC_TEXT,
    bomb,
    cyrillic_page,
    drip_body,
    drip_headers,
    endless_chunked,
    redirect,
)
from tests.support.web import Response

CAP = 1024 * 1024


def _reason(call) -> tuple[type[SluiceError], str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SluiceError) as info:
        call()
    return type(info.value), info.value.reason


@pytest.mark.parametrize("route", [drip_headers, drip_body], ids=["headers", "body"])
def test_a_dripping_server_hits_the_total_deadline(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str, route
) -> None:  # type: ignore[no-untyped-def]
    """Every read returns quickly, so only the total deadline can stop it, even mid-headers."""
    url = make_server("127.0.0.2").route(f"{prefix}/drip", route(interval=0.05))
    fetcher = make_fetcher(fetch_read_timeout=1.0, fetch_total_timeout=1.0)
    started = time.monotonic()
    assert _reason(lambda: fetcher.get(url)) == (RetryableError, "timeout")
    assert time.monotonic() - started < 2.0


def test_an_endless_chunked_body_stops_at_the_cap(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    url = make_server("127.0.0.2").route(f"{prefix}/endless", endless_chunked())
    fetcher = make_fetcher(fetch_max_bytes=CAP)
    assert _reason(lambda: fetcher.get(url)) == (PermanentError, "too_large")


@pytest.mark.parametrize("encoding", ["gzip", "br", "zstd"])
def test_compression_bombs_stop_early_in_little_memory(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str, encoding: str
) -> None:
    """256 MiB behind a few hundred KiB; the fetch stops near the 1 MiB cap, allocating little."""
    body = bomb(encoding)
    assert len(body) < 2 * 1024 * 1024
    url = make_server("127.0.0.2").route(
        f"{prefix}/bomb", Response(body=body, headers={"Content-Encoding": encoding})
    )
    fetcher = make_fetcher(fetch_max_bytes=CAP)
    tracemalloc.start()
    try:
        assert _reason(lambda: fetcher.get(url)) == (PermanentError, "too_large")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * CAP, f"peak {peak} bytes for a {CAP}-byte cap"


def test_stacked_encodings_are_decoded(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    import gzip

    import brotli

    html = b"<html><body><p>" + b"stacked " * 1000 + b"</p></body></html>"
    url = make_server("127.0.0.2").route(
        f"{prefix}/stacked",
        Response(
            body=brotli.compress(gzip.compress(html)), headers={"Content-Encoding": "gzip, br"}
        ),
    )
    assert make_fetcher().get(url).body == html


def test_an_unknown_encoding_is_refused(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    url = make_server("127.0.0.2").route(
        f"{prefix}/odd", Response(body=b"...", headers={"Content-Encoding": "compress"})
    )
    fetcher = make_fetcher()
    assert _reason(lambda: fetcher.get(url)) == (PermanentError, "bad_encoding")


def test_a_body_over_the_cap(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    url = server.route(f"{prefix}/big", Response(body=b"<p>" + b"x" * CAP))
    fetcher = make_fetcher(fetch_max_bytes=CAP)
    assert _reason(lambda: fetcher.get(url)) == (PermanentError, "too_large")


def test_a_redirect_loop_ends(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    url = server.route(f"{prefix}/loop", redirect(f"{prefix}/loop"))
    fetcher = make_fetcher(fetch_max_redirects=3)
    assert _reason(lambda: fetcher.get(url)) == (PermanentError, "too_many_redirects")
    assert server.hits.count(f"{prefix}/loop") == 4


def test_a_pdf_is_not_html(make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str) -> None:
    url = make_server("127.0.0.2").route(
        f"{prefix}/doc.pdf", Response(body=b"%PDF-1.4\n%%EOF", content_type="application/pdf")
    )
    fetcher = make_fetcher()
    assert _reason(lambda: fetcher.get(url)) == (PermanentError, "not_html")


@pytest.mark.parametrize("declare", ["meta", "none"])
def test_a_windows_1251_page_decodes(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str, declare: str
) -> None:
    """No charset in the header: the page's meta tag, or detection, gets the text right."""
    body = cyrillic_page(declare)
    url = make_server("127.0.0.2").route(
        f"{prefix}/ru.html", Response(body=body, content_type="text/html")
    )
    page = make_fetcher().get(url)
    assert page.encoding is None
    assert CYRILLIC_TEXT in decode_html(page.body, page.encoding)


def test_an_unknown_declared_charset_falls_back_to_detection(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    url = make_server("127.0.0.2").route(
        f"{prefix}/odd-charset.html",
        Response(body=cyrillic_page("none"), content_type="text/html; charset=x-no-such-thing"),
    )
    page = make_fetcher().get(url)
    assert page.encoding is None
    assert CYRILLIC_TEXT in decode_html(page.body, page.encoding)


def test_a_truncating_read_keeps_the_first_bytes(
    make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    url = make_server("127.0.0.2").route(f"{prefix}/long.txt", Response(body=b"a" * 5000))
    page = make_fetcher().get(url, ("text/html",), max_bytes=1000, truncate=True)
    assert page.body == b"a" * 1000
