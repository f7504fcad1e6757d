"""Hosts that accept connections and never answer: one thread listening on many loopback
addresses (distinct hosts to the fetcher), accepting every connection and reading what it
is sent, writing nothing, until the client gives up (or, with ``hang_up``, closing each
connection at once without a word)."""

from __future__ import annotations

import contextlib
import itertools
import random
import selectors
import socket
import threading

__all__ = ["SilentHosts", "loopback_addresses"]


def loopback_addresses(count: int, second: int = 20) -> list[str]:
    """``count`` distinct addresses ``127.<second>.x.y`` (y from 1 to 250)."""
    pairs = itertools.product(range(second, 256), range(256), range(1, 251))
    return [f"127.{a}.{b}.{c}" for a, b, c in itertools.islice(pairs, count)]


class SilentHosts:
    """``SilentHosts(addresses)``: every address listens on :attr:`port`; ``url(address,
    path)`` is a URL there. :attr:`accepted` counts the connections taken."""

    def __init__(self, addresses: list[str], *, hang_up: bool = False) -> None:
        self.hang_up = hang_up
        self.selector = selectors.DefaultSelector()
        self.listeners: list[socket.socket] = []
        self.accepted = 0
        self.port = self._listen(addresses)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _listen(self, addresses: list[str]) -> int:
        for _ in range(20):
            port = random.randint(20000, 60000)
            try:
                for address in addresses:
                    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    self.listeners.append(listener)
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    listener.bind((address, port))
                    listener.listen(64)
                    listener.setblocking(False)
            except OSError:
                self._close_listeners()
                continue
            for listener in self.listeners:
                self.selector.register(listener, selectors.EVENT_READ, "listen")
            return port
        raise RuntimeError("no port free on every address")

    def url(self, address: str, path: str = "/") -> str:
        return f"http://{address}:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if key.data == "listen":
                    with contextlib.suppress(OSError):
                        conn, _ = sock.accept()
                        self.accepted += 1
                        if self.hang_up:
                            conn.close()
                            continue
                        conn.setblocking(False)
                        self.selector.register(conn, selectors.EVENT_READ, "conn")
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:  # the client gave up
                    self.selector.unregister(sock)
                    sock.close()

    def _close_listeners(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.listeners = []

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for key in list(self.selector.get_map().values()):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            sock.close()
        self.selector.close()
        self.listeners = []
