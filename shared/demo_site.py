"""A tiny local news site serving the sample pages shipped with sluice.

Used by ``sluice up`` to demonstrate the pipeline and by the tests. It listens on loopback
only and serves:

* ``/news/world/belgorod-rebels-video.html`` — the sample article (Euro Canals News layout)
* ``/world/2023/05/28/belgorod-raid.html`` — the same article on a second site's layout
* ``/feed.xml`` (RSS) and ``/sitemap.xml`` listing both, ``/sitemap-index.xml`` naming it
* anything else — 404
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

__all__ = ["ARTICLE_PATH", "SYNDICATED_PATH", "DemoSite"]

ARTICLE_PATH = "/news/world/belgorod-rebels-video.html"
SYNDICATED_PATH = "/world/2023/05/28/belgorod-raid.html"

_PAGES = {
    ARTICLE_PATH: "belgorod-euro-canals.html",
    SYNDICATED_PATH: "belgorod-lowland-ledger.html",
}


def _sample(name: str) -> bytes:
    return resources.files("sluice.shared").joinpath("samples", name).read_bytes()


def _feed(base: str) -> bytes:
    items = "".join(
        f"<item><title>{path.rsplit('/', 1)[-1]}</title><link>{base}{path}</link></item>"
        for path in _PAGES
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>sluice demo</title><link>{base}/</link><description>Sample news</description>"
        f"{items}</channel></rss>"
    ).encode()


def _sitemap(base: str) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in _PAGES)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


def _sitemap_index(base: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap.xml</loc></sitemap></sitemapindex>"
    ).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        base = self.server.base_url
        path = self.path.split("?", 1)[0]
        if path in _PAGES:
            self._send(200, "text/html; charset=utf-8", _sample(_PAGES[path]))
        elif path == "/feed.xml":
            self._send(200, "application/rss+xml", _feed(base))
        elif path == "/sitemap.xml":
            self._send(200, "application/xml", _sitemap(base))
        elif path == "/sitemap-index.xml":
            self._send(200, "application/xml", _sitemap_index(base))
        else:
            self._send(404, "text/html", b"<html><body><h1>Not found</h1></body></html>")

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    base_url = ""


class DemoSite:
    """The demo site on ``127.0.0.1`` (a free port by default), served from a thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._server.base_url = self.base_url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> DemoSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path
