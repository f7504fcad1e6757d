"""The HTTP client of the fetch stage: one request at a time, within firm limits.

Limits: connect, first-byte and read timeouts and a total deadline (enforced on every
socket read, so a server dripping its headers cannot stall a worker; a server silent until
the first-byte timeout is given up on), a size cap counted on the *decoded* body while
streaming (compression is undone piece by piece, see :mod:`workers.fetching.decoding`), a
bounded number of redirects (each followed by hand in the one loop of
:mod:`workers.fetching.redirects`, so every hop is checked), a
content-type allowlist, and the address guard of :mod:`workers.fetching.addresses` on every
connection.

Failures become :mod:`shared.errors`: timeouts, connection errors, 408, 429 and 5xx are
retryable; other 4xx and bad content are permanent, each with its reason code.
"""

from __future__ import annotations

import codecs
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urljoin

import httpx

from sluice.shared import clock as cluster_clock
from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.fetching.addresses import (
    AddressPolicy,
    Resolver,
    deadline_scope,
    guarded_transport,
    system_resolver,
)
from sluice.workers.fetching.decoding import ACCEPT_ENCODING, decoded
from sluice.workers.fetching.redirects import Redirect, follow
from sluice.workers.fetching.urls import check_url

__all__ = [
    "ANY_CONTENT_TYPE",
    "FetchedPage",
    "Fetcher",
    "Getter",
    "NotModified",
    "Redirect",
    "check_url",
    "downloaded",
]

ANY_CONTENT_TYPE = ("*/*",)
_RETRYABLE_STATUS = frozenset({408, 429})
_REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
_VALIDATORS = ("etag", "last-modified")


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A successful download: the final URL after redirects, and the decoded body bytes."""

    url: str
    status: int
    body: bytes
    content_type: str
    encoding: str | None
    headers: dict[str, str] = field(default_factory=dict)  # its validators
    cache_control: str = ""  # a polled feed's polling hint
    answered: float = 0.0  # time.monotonic() when the answer began (0.0: unknown)


@dataclass(frozen=True, slots=True)
class NotModified:
    """A 304 to a conditional request: the copy we have is current."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    answered: float = 0.0  # time.monotonic() when the answer began (0.0: unknown)


def downloaded(answer: FetchedPage | Redirect | NotModified) -> FetchedPage | Redirect:
    """``answer`` to a request that sent no validators, where a 304 makes no sense."""
    if isinstance(answer, NotModified):
        raise PermanentError(Reason.http(304), "not modified, but nothing was conditional")
    return answer


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - cluster_clock.now())
        except (TypeError, ValueError):
            return None


def _charset(response: httpx.Response) -> str | None:
    """The declared charset if Python knows it; otherwise ``None`` and extract will detect."""
    name = response.charset_encoding
    if not name:
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name.lower()


def _location(base: str, header: str) -> str:
    """The absolute target of a redirect, or ``bad_redirect`` when it cannot be fetched."""
    try:
        location = urljoin(base, header.strip())
        check_url(location)
    except ValueError as exc:
        raise PermanentError(Reason.BAD_REDIRECT, f"Location {header[:200]!r}: {exc}") from exc
    except PermanentError as exc:
        if exc.reason != Reason.INVALID_URL:
            raise  # unsupported_scheme keeps its own reason
        raise PermanentError(
            Reason.BAD_REDIRECT, f"Location {header[:200]!r}: {exc.detail}"
        ) from exc
    return location


class Getter(Protocol):
    """What downloads a document: :class:`Fetcher`, or the producers' fetcher that holds the
    host's frontier turn (:class:`producers.turn_fetcher.TurnFetcher`)."""

    def get(self, url: str, content_types: tuple[str, ...] | None = None) -> FetchedPage: ...


class Fetcher:
    """An HTTP client configured from :class:`Settings`; one per worker process is plenty.

    It is safe to share between threads. ``transport`` replaces the guarded network
    transport (tests only); ``resolver`` replaces the system's DNS lookup.
    """

    def __init__(
        self,
        settings: Settings,
        transport: httpx.BaseTransport | None = None,
        *,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        if transport is None:
            policy = AddressPolicy.from_setting(settings.fetch_allow_networks)
            transport = guarded_transport(
                policy, resolver=resolver, max_connections=max(100, settings.fetch_concurrency)
            )
        self.client = httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.fetch_connect_timeout,
                read=settings.fetch_read_timeout,
                write=settings.fetch_read_timeout,
                pool=settings.fetch_connect_timeout,
            ),
            follow_redirects=False,
            # Environment proxies would resolve names out of the address guard's sight.
            trust_env=False,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def get(
        self,
        url: str,
        content_types: tuple[str, ...] | None = None,
        *,
        max_bytes: int | None = None,
        truncate: bool = False,
    ) -> FetchedPage:
        """Download ``url``, following redirects, or raise a :mod:`shared.errors` error.

        ``content_types`` overrides the allowlist (feeds and sitemaps are XML, not HTML;
        :data:`ANY_CONTENT_TYPE` accepts anything). ``max_bytes`` overrides the size cap;
        with ``truncate`` a longer body is cut there instead of refused.
        """
        deadline = time.monotonic() + self.settings.fetch_total_timeout

        def request(target: str) -> FetchedPage | Redirect:
            return downloaded(
                self.hop(
                    target, content_types, max_bytes=max_bytes, truncate=truncate, deadline=deadline
                )
            )

        return follow(request, url, self.settings.fetch_max_redirects)

    def hop(
        self,
        url: str,
        content_types: tuple[str, ...] | None = None,
        *,
        headers: dict[str, str] | None = None,
        max_bytes: int | None = None,
        truncate: bool = False,
        deadline: float | None = None,
    ) -> FetchedPage | Redirect | NotModified:
        """One request to ``url``, without following a redirect.

        ``headers`` are sent along (e.g. ``If-None-Match``); a 304 is returned as
        :class:`NotModified` only when such validators were sent.
        """
        check_url(url)
        allowed = content_types or self.settings.allowed_content_types
        if deadline is None:
            deadline = time.monotonic() + self.settings.fetch_total_timeout
        conditional = bool(headers) and any(
            h.lower() in ("if-none-match", "if-modified-since") for h in headers or {}
        )
        first_byte = min(deadline, time.monotonic() + self.settings.fetch_first_byte_timeout)
        r: httpx.Response | None = None
        try:
            with contextlib.ExitStack() as stack:
                # Until the answer begins, a silent host is given up on at the first-byte
                # timeout; from then on the total deadline bounds the rest.
                with deadline_scope(first_byte):
                    r = stack.enter_context(self.client.stream("GET", url, headers=headers))
                stack.enter_context(deadline_scope(deadline))
                answered = time.monotonic()  # the server has seen the request by now
                status = r.status_code
                if status in _REDIRECT_STATUS and r.headers.get("location"):
                    location = _location(str(r.url), r.headers["location"])
                    return Redirect(str(r.url), status, location, answered)
                if status == 304 and conditional:
                    return NotModified(str(r.url), self._validators(r), answered)
                return self._read(r, deadline, allowed, max_bytes, truncate, answered)
        except httpx.TimeoutException as exc:
            if r is None and not isinstance(exc, httpx.ConnectTimeout):
                limit = self.settings.fetch_first_byte_timeout
                detail = f"no answer within {limit:g} s (first-byte timeout) for {url[:200]}"
            else:
                detail = f"{type(exc).__name__} for {url[:200]}"
            raise RetryableError(Reason.TIMEOUT, detail) from exc
        except httpx.DecodingError as exc:
            raise PermanentError(Reason.BAD_ENCODING, str(exc)) from exc
        except httpx.RemoteProtocolError as exc:
            if "location header" in str(exc).lower():  # httpx parses Location itself
                raise PermanentError(Reason.BAD_REDIRECT, str(exc)[:300]) from exc
            raise RetryableError(Reason.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}") from exc
        except httpx.TransportError as exc:
            raise RetryableError(Reason.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}") from exc
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise PermanentError(Reason.INVALID_URL, str(exc)[:300]) from exc

    @staticmethod
    def _validators(response: httpx.Response) -> dict[str, str]:
        return {k: response.headers[k] for k in _VALIDATORS if k in response.headers}

    def _read(
        self,
        response: httpx.Response,
        deadline: float,
        allowed: tuple[str, ...],
        max_bytes: int | None,
        truncate: bool,
        answered: float = 0.0,
    ) -> FetchedPage:
        status = response.status_code
        if status >= 500 or status in _RETRYABLE_STATUS:
            raise RetryableError(Reason.http(status), str(response.url), _retry_after(response))
        if status != 200:
            raise PermanentError(Reason.http(status), str(response.url))
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if allowed != ANY_CONTENT_TYPE and content_type not in allowed:
            raise PermanentError(Reason.NOT_HTML, content_type or "no content-type")
        cap = self.settings.fetch_max_bytes if max_bytes is None else max_bytes
        body = bytearray()
        encoding = response.headers.get("content-encoding", "")
        for piece in decoded(self._raw(response, deadline, cap), encoding):
            body += piece
            if len(body) > cap:
                if truncate:
                    del body[cap:]
                    break
                raise PermanentError(Reason.TOO_LARGE, f"body over {cap} bytes")
        return FetchedPage(
            url=str(response.url),
            status=status,
            body=bytes(body),
            content_type=content_type,
            encoding=_charset(response),
            headers=self._validators(response),
            cache_control=response.headers.get("cache-control", "")[:500],
            answered=answered,
        )

    @staticmethod
    def _raw(response: httpx.Response, deadline: float, cap: int) -> Iterator[bytes]:
        """The body's bytes as sent, within the deadline and (compressed) the size cap."""
        received = 0
        for chunk in response.iter_raw():
            received += len(chunk)
            if received > cap + 64 * 1024:
                raise PermanentError(Reason.TOO_LARGE, f"body over {cap} bytes as sent")
            yield chunk
            if time.monotonic() > deadline:
                raise RetryableError(Reason.TIMEOUT, "total fetch time exceeded")
