"""Fetch stage: download a page over HTTP(S) within firm limits and keep it in the store.

Limits: connect/read timeouts and a total deadline, a size cap counted on the *decoded*
body while streaming, a bounded number of redirects (each followed by hand, so every hop
can be checked), and a content-type allowlist. Failures become :mod:`shared.errors`:
timeouts, connection errors, 408, 429 and 5xx are retryable; other 4xx and bad content
are permanent, each with its reason code.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import httpx

from shared.article import Article
from shared.errors import PermanentError, RetryableError
from shared.identity import article_id_for_url, canonicalize_url
from shared.pages import save_page
from shared.settings import Settings

__all__ = ["FetchedPage", "Fetcher", "fetch", "identify"]

_RETRYABLE_STATUS = frozenset({408, 429})
_SCHEMES = frozenset({"http", "https"})


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A successful download: the final URL after redirects, and the decoded body bytes."""

    url: str
    status: int
    body: bytes
    content_type: str
    encoding: str | None
    headers: dict[str, str] = field(default_factory=dict)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class Fetcher:
    """An HTTP client configured from :class:`Settings`; one per worker process is plenty."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.client = httpx.Client(
            timeout=httpx.Timeout(
                connect=settings.fetch_connect_timeout,
                read=settings.fetch_read_timeout,
                write=settings.fetch_read_timeout,
                pool=settings.fetch_connect_timeout,
            ),
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent, "Accept": "text/html,*/*;q=0.5"},
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, content_types: tuple[str, ...] | None = None) -> FetchedPage:
        """Download ``url``, following redirects, or raise a :mod:`shared.errors` error.

        ``content_types`` overrides the allowlist (feeds and sitemaps are XML, not HTML).
        """
        allowed = content_types or self.settings.allowed_content_types
        deadline = time.monotonic() + self.settings.fetch_total_timeout
        for _hop in range(self.settings.fetch_max_redirects + 1):
            self._check_url(url)
            try:
                with self.client.stream("GET", url) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        url = urljoin(str(response.url), location)
                        continue
                    return self._read(response, deadline, allowed)
            except httpx.TimeoutException as exc:
                raise RetryableError("timeout", f"{type(exc).__name__} for {url}") from exc
            except httpx.DecodingError as exc:
                raise PermanentError("bad_encoding", str(exc)) from exc
            except httpx.TransportError as exc:
                raise RetryableError("connection_error", f"{type(exc).__name__}: {exc}") from exc
        raise PermanentError("too_many_redirects", f"more than {self.settings.fetch_max_redirects}")

    @staticmethod
    def _check_url(url: str) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in _SCHEMES:
            raise PermanentError("unsupported_scheme", f"{scheme or 'no scheme'} in {url[:200]}")

    def _read(
        self, response: httpx.Response, deadline: float, allowed: tuple[str, ...]
    ) -> FetchedPage:
        status = response.status_code
        if status >= 500 or status in _RETRYABLE_STATUS:
            raise RetryableError(f"http_{status}", str(response.url), _retry_after(response))
        if status >= 400:
            raise PermanentError(f"http_{status}", str(response.url))
        if status != 200:
            raise PermanentError(f"http_{status}", "unexpected status")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in allowed:
            raise PermanentError("not_html", content_type or "no content-type")
        body = bytearray()
        cap = self.settings.fetch_max_bytes
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > cap:
                raise PermanentError("too_large", f"body over {cap} bytes")
            if time.monotonic() > deadline:
                raise RetryableError("timeout", "total fetch time exceeded")
        headers = {
            k: response.headers[k] for k in ("etag", "last-modified") if k in response.headers
        }
        return FetchedPage(
            url=str(response.url),
            status=status,
            body=bytes(body),
            content_type=content_type,
            encoding=response.charset_encoding,
            headers=headers,
        )


# Longer URLs are refused before any request: servers and proxies commonly reject them, and
# they are a favourite of crawler traps.
MAX_URL_LENGTH = 2048


def identify(article: Article) -> Article:
    """Set the canonical URL and the article id from the submitted URL, before fetching."""
    if not article.url:
        raise PermanentError("no_url", "nothing to fetch")
    if len(article.url) > MAX_URL_LENGTH:
        raise PermanentError("url_too_long", f"{len(article.url)} characters")
    try:
        canonical = canonicalize_url(article.url)
    except ValueError as exc:
        raise PermanentError("invalid_url", str(exc)[:300]) from exc
    article.canonical_url = canonical
    article.id = article.id or article_id_for_url(canonical)
    return article


def fetch(article: Article, fetcher: Fetcher) -> Article:
    """Download ``article.url`` and keep the raw page; the canonical URL becomes the final one
    after redirects, while the id stays that of the submitted URL."""
    identify(article)
    page = fetcher.get(article.url)  # type: ignore[arg-type]
    try:
        article.canonical_url = canonicalize_url(page.url)
    except ValueError as exc:
        raise PermanentError("invalid_url", str(exc)[:300]) from exc
    article.page_id = save_page(page.body, page.url, page.content_type, page.encoding)
    return article
