"""A TCP forwarder on an address of its own: the tests' PostgreSQL listens on 127.0.0.1 only,
and a test that wants its store at another address (a "machine" reaching the cluster's
database over the network) reaches it through this."""

from __future__ import annotations

import contextlib
import socket
import threading

__all__ = ["Forwarder"]

_CHUNK = 65536


class Forwarder:
    """Accepts on ``host`` (a free port, :attr:`port`) and copies each connection's bytes to
    and from ``target``, one thread per direction, until :meth:`close`."""

    def __init__(self, host: str, target: tuple[str, int]) -> None:
        self._listener = socket.create_server((host, 0))
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._target = target
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="forwarder", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                near, _ = self._listener.accept()
            except OSError:  # closed
                return
            try:
                far = socket.create_connection(self._target, timeout=10)
            except OSError:
                near.close()
                continue
            far.settimeout(None)
            with self._lock:
                if self._closed:
                    near.close()
                    far.close()
                    return
                self._open.update((near, far))
            for source, sink in ((near, far), (far, near)):
                threading.Thread(target=self._copy, args=(source, sink), daemon=True).start()

    def _copy(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(_CHUNK):
                sink.sendall(chunk)
            sink.shutdown(socket.SHUT_WR)  # the other side said all it had to say
        except OSError:
            self._drop(source, sink)

    def _drop(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._open.discard(sock)
                _cut(sock)

    def close(self) -> None:
        """Stop accepting and cut every open connection."""
        self._listener.close()
        with self._lock:
            self._closed = True
            for sock in self._open:
                _cut(sock)
            self._open.clear()


def _cut(sock: socket.socket) -> None:
    """Close ``sock``, waking a thread blocked reading it (a bare close would not)."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
