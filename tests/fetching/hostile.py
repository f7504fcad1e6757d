"""A hostile web server for the fetch tests: every way a site can try to hurt a crawler.

Each route is a handler for :class:`tests.support.web.WebServer`; :func:`hostile_routes`
installs them all under a prefix. Servers bind to loopback addresses only.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import brotli
import zstandard

from tests.support.web import Response, WebServer

__all__ = [
    "BOMB_SIZE",
    "CYRILLIC_TEXT",
    "bomb",
    "cyrillic_page",
    "drip_body",
    "drip_headers",
    "endless_chunked",
    "hostile_routes",
    "redirect",
]

BOMB_SIZE = 256 * 1024 * 1024  # what each bomb inflates to
Route = Callable[[BaseHTTPRequestHandler], Response | None]

CYRILLIC_TEXT = (
    "Городской совет Белгорода в четверг утвердил план восстановления старого речного "
    "порта. По словам председателя совета, работы начнутся весной и продлятся два года. "
    "Жители района давно добивались ремонта набережной, где после паводков обрушились "
    "причалы и лестницы. Проект предусматривает новые причалы для прогулочных судов, "
    "велосипедную дорожку вдоль реки и небольшой рынок для местных фермеров. Стоимость "
    "работ оценивается в триста миллионов рублей; половину средств выделит область. "
    "Депутаты также попросили администрацию каждые полгода отчитываться о ходе работ."
)


@functools.cache
def bomb(encoding: str) -> bytes:
    """:data:`BOMB_SIZE` bytes of HTML-looking zeros, compressed with ``encoding``."""
    zeros = b"\0" * BOMB_SIZE
    if encoding == "gzip":
        return gzip.compress(zeros, compresslevel=6)
    if encoding == "br":
        return brotli.compress(zeros, quality=5)
    if encoding == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(zeros)
    raise ValueError(encoding)


def cyrillic_page(declare: str) -> bytes:
    """An article in windows-1251: ``declare`` is ``meta`` or ``none`` (no charset at all)."""
    meta = '<meta charset="windows-1251">' if declare == "meta" else ""
    html = (
        f"<html><head>{meta}<title>Белгород восстановит речной порт</title></head><body>"
        f"<article><h1>Белгород восстановит речной порт</h1><p>{CYRILLIC_TEXT}</p>"
        f"<p>{CYRILLIC_TEXT}</p></article></body></html>"
    )
    return html.encode("windows-1251")


def _quietly(write: Callable[[BaseHTTPRequestHandler], None]) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        with contextlib.suppress(OSError):  # the client hung up, as it should
            write(handler)

    return route


def drip_headers(interval: float = 0.1, limit: float = 30.0) -> Route:
    """A status line, then one header byte per ``interval``: headers that never end."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Drip: ")
        handler.wfile.flush()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(interval)

    return _quietly(write)


def drip_body(interval: float = 0.1, limit: float = 30.0) -> Route:
    """Headers promising a page, then one byte per ``interval``."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        end = time.monotonic() + limit
        while time.monotonic() < end:
            handler.wfile.write(b"<")
            handler.wfile.flush()
            time.sleep(interval)

    return _quietly(write)


def endless_chunked(limit: float = 30.0) -> Route:
    """A chunked body that never ends (until ``limit`` seconds, to spare the test machine)."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"<p>" + b"x" * (64 * 1024 - 3)
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        end = time.monotonic() + limit
        while time.monotonic() < end:
            handler.wfile.write(frame)

    return _quietly(write)


def _bomb_route(encoding: str) -> Route:
    def route(_: BaseHTTPRequestHandler) -> Response:
        return Response(body=bomb(encoding), headers={"Content-Encoding": encoding})

    return route


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", headers={"Location": location})


def hostile_routes(
    server: WebServer, prefix: str, *, cap: int, loopback_target: str
) -> dict[str, tuple[str, str]]:
    """Install every hostile route; returns ``name -> (url, expected reason)``.

    ``cap`` is the fetcher's size cap; ``loopback_target`` a URL on 127.0.0.1.
    """
    routes: dict[str, tuple[Response | Route, str]] = {
        "drip-headers": (drip_headers(), "timeout"),
        "drip-body": (drip_body(), "timeout"),
        "endless": (endless_chunked(), "too_large"),
        "gzip-bomb": (_bomb_route("gzip"), "too_large"),
        "br-bomb": (_bomb_route("br"), "too_large"),
        "zstd-bomb": (_bomb_route("zstd"), "too_large"),
        "over-cap": (Response(body=b"<p>" + b"x" * cap), "too_large"),
        "loop": (redirect(f"{prefix}/loop"), "too_many_redirects"),
        "metadata": (redirect("http://169.254.169.254/latest/meta-data/"), "blocked_address"),
        "loopback": (redirect(loopback_target), "blocked_address"),
        "busy": (Response(429, b"slow down", headers={"Retry-After": "1"}), "http_429"),
        "pdf": (Response(body=b"%PDF-1.4\n%%EOF", content_type="application/pdf"), "not_html"),
        "gone": (Response(404, b"<h1>gone</h1>"), "http_404"),
        "forbidden": (Response(403, b"<h1>no</h1>"), "http_403"),
    }
    urls = {}
    for name, (route, reason) in routes.items():
        urls[name] = (server.route(f"{prefix}/{name}", route), reason)
    return urls
