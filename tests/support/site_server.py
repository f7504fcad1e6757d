"""One loopback host for the generated sites and the feed publisher: a threaded HTTP
server whose answers a callable makes (and, as a ``HostServer``, counting every request it
receives: target and time)."""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Answer", "AnswerServer", "HostServer"]

# Status, headers and body.
Answer = tuple[int, dict[str, str], bytes]


class _Handler(BaseHTTPRequestHandler):
    server: AnswerServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections end, with their threads

    def do_GET(self) -> None:
        server = self.server
        server.note(self.path)
        status, headers, body = server.answer(self.path, self.headers)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class AnswerServer(ThreadingHTTPServer):
    """One loopback host whose responses ``answer(target, headers)`` makes; it serves once
    ``serve_forever`` runs (a :class:`HostServer` starts that itself)."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: str, answer: Callable[[str, Any], Answer]) -> None:
        super().__init__((address, 0), _Handler)
        self.answer = answer
        self.base_url = f"http://{address}:{self.server_address[1]}"

    def note(self, target: str) -> None:
        """Called with each request's target before it is answered."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops an idle keep-alive connection is no error of the site's."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class HostServer(AnswerServer):
    """One loopback host, serving from the start: ``answer(target, headers)`` makes the
    response; every request target is counted in ``requests``."""

    def __init__(self, address: str, answer: Callable[[str, Any], Answer]) -> None:
        super().__init__(address, answer)
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.times: list[float] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    def note(self, target: str) -> None:
        with self.lock:
            self.requests[target] += 1
            self.times.append(time.time())

    def hits(self) -> Counter[str]:
        with self.lock:
            return Counter(self.requests)

    def close(self) -> None:
        self.shutdown()
        self.server_close()
