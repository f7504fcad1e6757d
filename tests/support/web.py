"""A local HTTP server for the tests, on 127.0.0.1 only, with routes set per test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Response", "WebServer"]


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"  # "": no Content-Type header at all
    headers: dict[str, str] = field(default_factory=dict)


Route = Response | Callable[[BaseHTTPRequestHandler], Response | None]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.server.hits.append(path)
        route = self.server.routes.get(path, Response(404, b"<h1>not found</h1>"))
        response = route(self) if callable(route) else route
        if response is None:  # the route wrote its own response
            return
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Route]
    hits: list[str]


class WebServer:
    """``server.route("/a.html", Response(...))``; ``server.url("/a.html")``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), _Handler)
        self._server.routes = {}
        self._server.hits = []
        self.base_url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def route(self, path: str, response: Route) -> str:
        self._server.routes[path] = response
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def hits(self) -> list[str]:
        return self._server.hits

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
