"""Many HTTP servers on distinct loopback addresses: distinct hosts to the fetcher, for the
benchmarks that need many hosts (127.0.0.2, 127.0.0.3, …)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from typing import TypeVar

__all__ = ["loopback_address", "serving"]

Server = TypeVar("Server", bound=HTTPServer)


def loopback_address(n: int) -> str:
    """The ``n``-th loopback host: 127.0.0.2, 127.0.0.3, …, 127.0.1.0, …"""
    number = 2 + n
    return f"127.0.{number // 256}.{number % 256}"


@contextmanager
def serving(make: Callable[[str], Server], hosts: int) -> Iterator[list[Server]]:
    """``hosts`` servers, ``make(address)`` each, serving until the block ends."""
    servers = [make(loopback_address(n)) for n in range(hosts)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield servers
    finally:
        # Each shutdown waits for its server's next poll (0.5 s): all at once, not in turn.
        stopping = [threading.Thread(target=s.shutdown) for s in servers]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        for server in servers:
            server.server_close()
