"""A remote archive read as a stream through the guarded fetcher's client.

Each :meth:`RemoteArchive.open_at` is one ``GET`` with ``Range: bytes=OFFSET-`` on the
fetcher's client, so the address guard checks every connection (redirects are followed by
hand, each hop checked), reads time out as for any fetch, and the archive may not pass
``SLUICE_WARC_MAX_BYTES``. A server that ignores ``Range`` is read from its start, and the
bytes before the offset are skipped, not kept.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from urllib.parse import urljoin

import httpx

from sluice.producers.chunk_stream import ChunkStream
from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.reasons import Reason
from sluice.workers.fetching.client import Fetcher, check_url

__all__ = ["RemoteArchive"]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Body(ChunkStream):
    """The body of one streamed response, from absolute ``offset``; ``tell`` is absolute."""

    def __init__(self, stream: object, chunks: Iterator[bytes], offset: int, cap: int) -> None:
        super().__init__(chunks, offset)
        self._stream = stream
        self._cap = cap

    def next_chunk(self) -> bytes | None:
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
        super().close()


class RemoteArchive:
    """``open_at(offset)`` streams of the archive at ``url``; ``size`` once known."""

    def __init__(self, fetcher: Fetcher, url: str, max_bytes: int) -> None:
        self.fetcher = fetcher
        self.url = url
        self.max_bytes = max_bytes
        self.size: int | None = None

    def open_at(self, offset: int) -> io.BufferedReader:
        url = self.url
        for _hop in range(self.fetcher.settings.fetch_max_redirects + 1):
            check_url(url)
            headers = {"Range": f"bytes={offset}-", "Accept-Encoding": "identity"}
            stream = self.fetcher.client.stream("GET", url, headers=headers)
            try:
                response = stream.__enter__()
            except httpx.TimeoutException as exc:
                raise RetryableError(Reason.TIMEOUT, f"no answer from {url[:200]}") from exc
            except httpx.TransportError as exc:
                raise RetryableError(Reason.CONNECTION_ERROR, str(exc)[:200]) from exc
            status = response.status_code
            if status in _REDIRECTS and response.headers.get("location"):
                url = urljoin(str(response.url), response.headers["location"])
                stream.__exit__(None, None, None)
                continue
            return self._body(stream, response, offset)
        raise PermanentError(Reason.TOO_MANY_REDIRECTS, self.url[:200])

    def _body(self, stream: object, response: httpx.Response, offset: int) -> io.BufferedReader:
        status = response.status_code
        if status == 416:  # nothing at or after the offset
            stream.__exit__(None, None, None)  # type: ignore[attr-defined]
            return io.BufferedReader(_Body(_Closed(), iter(()), offset, self.max_bytes))
        if status not in (200, 206):
            stream.__exit__(None, None, None)  # type: ignore[attr-defined]
            if status >= 500 or status in (408, 429):
                raise RetryableError(Reason.http(status), self.url[:200])
            raise PermanentError(Reason.http(status), self.url[:200])
        length = response.headers.get("content-length")
        if length and length.isdigit():
            self.size = int(length) + (offset if status == 206 else 0)
            if self.size > self.max_bytes:
                stream.__exit__(None, None, None)  # type: ignore[attr-defined]
                raise PermanentError(Reason.TOO_LARGE, f"archive of {self.size} bytes")
        body = _Body(stream, response.iter_raw(), 0 if status == 200 else offset, self.max_bytes)
        reader: io.BufferedReader = io.BufferedReader(body, buffer_size=1 << 16)
        if status == 200 and offset:  # the server ignored Range: skip to the offset
            left = offset
            while left and (piece := reader.read(min(left, 1 << 20))):
                left -= len(piece)
        return reader


class _Closed:
    def __exit__(self, *_args: object) -> None:
        return None
