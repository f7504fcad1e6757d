"""A loopback port kept for one test's own Redis while that server is down.

A test that stops its Redis and starts it again must find the port free on restart and
must not let its workers reconnect to a stranger meanwhile. A bound, non-listening socket
with ``SO_REUSEADDR`` keeps other servers off the port yet lets the test's server (which
sets the option too) listen on it.

The port is chosen below the kernel's ephemeral range: a port from ``bind(0)`` lies inside
that range, and Linux may hand the same port to an outgoing connection (any client's
connect) while only a placeholder holds it, so the restarted server would find it "already
in use".
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

__all__ = ["keep_port"]

_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    try:
        return int(_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def keep_port(host: str = "127.0.0.1", attempts: int = 200) -> socket.socket:
    """A bound, non-listening socket on a free port of ``host`` below the ephemeral range;
    its port is ``sock.getsockname()[1]``. Close it when the test is done."""
    upper = _ephemeral_start() - 1
    lower = min(20000, upper - 1000)
    for _ in range(attempts):
        placeholder = socket.socket()
        placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            placeholder.bind((host, random.randint(lower, upper)))
        except OSError:
            placeholder.close()
            continue
        return placeholder
    raise RuntimeError(f"no free port on {host} between {lower} and {upper}")
