"""A remote archive read as a stream, on its host's turn, through the guarded fetcher's client.

Each :meth:`RemoteArchive.open_at` is one ``GET`` with ``Range: bytes=OFFSET-`` on the
fetcher's client, so the address guard checks every connection, reads time out as for any
fetch, and the archive may not pass ``SLUICE_WARC_MAX_BYTES``. Redirects are followed in
the one loop of :mod:`workers.fetching.redirects`. A server that ignores ``Range`` is read
from its start, and the bytes before the offset are skipped, not kept.

Each request waits for its host's turn and gate like any other
(:class:`producers.turn_fetcher.TurnFetcher`), and the stream keeps the turn until it is
closed, renewing it as it reads: a download is one request in flight for as long as it
lasts, so pages of an archive's host wait for its download (archives are usually served by
hosts that serve no articles). The streams one archive opens at once (the reader looks
ahead for the next record after damage) share its hold.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx

from sluice.producers.chunk_stream import ChunkStream
from sluice.producers.turn_fetcher import TurnFetcher
from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.reasons import Reason
from sluice.workers.fetching.client import check_url
from sluice.workers.fetching.holds import HostHold
from sluice.workers.fetching.redirects import Redirect, follow

__all__ = ["RemoteArchive"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Holds:
    """An archive's holds of its hosts' turns, shared by its open streams: the reader opens
    a second stream (looking for the next record after damage) before it closes the first,
    and must not wait for a turn it holds itself."""

    def __init__(self, fetcher: TurnFetcher) -> None:
        self.fetcher = fetcher
        self._held: dict[str, tuple[HostHold, int]] = {}

    def take(self, url: str) -> HostHold:
        hold = self.fetcher.hold(url)
        if hold.host in self._held:
            hold, count = self._held[hold.host]
        else:
            hold.take()
            count = 0
        self._held[hold.host] = (hold, count + 1)
        return hold

    def let_go(self, hold: HostHold) -> None:
        _, count = self._held.pop(hold.host, (hold, 1))
        if count > 1:
            self._held[hold.host] = (hold, count - 1)
        else:
            hold.let_go()


class _Turn:
    """One request's hold of its host's turn, ended once with the budget told."""

    def __init__(self, holds: _Holds, url: str) -> None:
        self.fetcher = holds.fetcher
        self.holds = holds
        self.hold = holds.take(url)
        self.answered = 0.0
        self.sent = 0.0
        self._renewed = time.monotonic()

    def renew(self) -> None:
        """Keep the turn while the stream is read (at most every third of a lease)."""
        now = time.monotonic()
        if now - self._renewed > self.hold.lease / 3:
            self._renewed = now
            self.hold.keep(0.0)

    def end(self, *, silent: bool = False) -> None:
        if silent:
            self.fetcher.budget.failed(self.hold.host)
        else:
            self.fetcher.budget.finished(self.hold.host, answered=self.answered, sent=self.sent)
        self.holds.let_go(self.hold)


class _Body(ChunkStream):
    """The body of one streamed response, from absolute ``offset``; ``tell`` is absolute."""

    def __init__(
        self, stream: object, chunks: Iterator[bytes], offset: int, cap: int, turn: _Turn | None
    ) -> None:
        super().__init__(chunks, offset)
        self._stream = stream
        self._cap = cap
        self._turn = turn

    def next_chunk(self) -> bytes | None:
        if self._turn is not None:
            self._turn.renew()
        try:
            return super().next_chunk()
        except httpx.TimeoutException as exc:
            raise RetryableError(Reason.TIMEOUT, "the archive stopped sending") from exc
        except httpx.TransportError as exc:
            raise RetryableError(Reason.CONNECTION_ERROR, str(exc)[:200]) from exc

    def moved(self, position: int) -> None:
        if position > self._cap:
            raise PermanentError(Reason.TOO_LARGE, f"archive over {self._cap} bytes")

    def close(self) -> None:
        if not self.closed:
            self._stream.__exit__(None, None, None)  # type: ignore[attr-defined]
            if self._turn is not None:
                self._turn.end()
        super().close()


class RemoteArchive:
    """``open_at(offset)`` streams of the archive at ``url``; ``size`` once known."""

    def __init__(self, fetcher: TurnFetcher, url: str, max_bytes: int) -> None:
        self.fetcher = fetcher
        self.url = url
        self.max_bytes = max_bytes
        self.size: int | None = None
        self._holds = _Holds(fetcher)

    def open_at(self, offset: int) -> io.BufferedReader:
        headers = {"Range": f"bytes={offset}-", "Accept-Encoding": "identity"}

        def request(url: str) -> io.BufferedReader | Redirect:
            check_url(url)
            turn = _Turn(self._holds, url)
            try:
                self.fetcher.open_gate(turn.hold)
                turn.sent = time.monotonic()
                stream = self.fetcher.fetcher.client.stream("GET", url, headers=headers)
                try:
                    response = stream.__enter__()
                except httpx.TimeoutException as exc:
                    raise RetryableError(Reason.TIMEOUT, f"no answer from {url[:200]}") from exc
                except httpx.TransportError as exc:
                    raise RetryableError(Reason.CONNECTION_ERROR, str(exc)[:200]) from exc
            except RetryableError:
                turn.end(silent=True)
                raise
            except BaseException:
                turn.end()
                raise
            turn.answered = time.monotonic()
            status = response.status_code
            if status in _REDIRECTS and response.headers.get("location"):
                location = urljoin(str(response.url), response.headers["location"])
                stream.__exit__(None, None, None)
                turn.end()
                return Redirect(str(response.url), status, location)
            return self._body(stream, response, offset, turn)

        return follow(request, self.url, self.fetcher.settings.fetch_max_redirects)

    def _body(
        self, stream: object, response: httpx.Response, offset: int, turn: _Turn
    ) -> io.BufferedReader:
        status = response.status_code
        if status == 416:  # nothing at or after the offset
            _refuse(stream, turn)
            return io.BufferedReader(_Body(_Closed(), iter(()), offset, self.max_bytes, None))
        if status not in (200, 206):
            _refuse(stream, turn)
            if status >= 500 or status in (408, 429):
                raise RetryableError(Reason.http(status), self.url[:200])
            raise PermanentError(Reason.http(status), self.url[:200])
        length = response.headers.get("content-length")
        if length and length.isdigit():
            self.size = int(length) + (offset if status == 206 else 0)
            if self.size > self.max_bytes:
                _refuse(stream, turn)
                raise PermanentError(Reason.TOO_LARGE, f"archive of {self.size} bytes")
        start = 0 if status == 200 else offset
        body = _Body(stream, response.iter_raw(), start, self.max_bytes, turn)
        reader: io.BufferedReader = io.BufferedReader(body, buffer_size=1 << 16)
        if status == 200 and offset:  # the server ignored Range: skip to the offset
            left = offset
            while left and (piece := reader.read(min(left, 1 << 20))):
                left -= len(piece)
        return reader


def _refuse(stream: object, turn: _Turn) -> None:
    """Close a response not read, and end its turn."""
    stream.__exit__(None, None, None)  # type: ignore[attr-defined]
    turn.end()


class _Closed:
    def __exit__(self, *_args: object) -> None:
        return None
