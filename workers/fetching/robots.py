"""robots.txt for every origin, fetched once for the cluster and cached in Redis (RFC 9309).

* 2xx: the rules are parsed with protego (at most ``SLUICE_ROBOTS_MAX_BYTES`` are read);
* 4xx (the file is *unavailable*), or more redirects than allowed: everything is allowed;
* 5xx, 429, timeouts and connection errors (the file is *unreachable*): everything is
  disallowed for now; the verdict is cached briefly and the file asked for again later.

A lock in Redis lets one worker fetch an origin's file while the others wait for it. Parsed
files are kept per process for a minute, so a busy host costs one Redis read a minute.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis
from protego import Protego

from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.hosts import host_of
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import (
    ANY_CONTENT_TYPE,
    FetchedPage,
    Fetcher,
    Redirect,
    downloaded,
)
from sluice.workers.fetching.redirects import follow

__all__ = ["Robots", "RobotsCache", "agent_token", "origin_of", "robots_url"]

ALLOW_ALL = "allow"
DISALLOW_ALL = "disallow"
RULES = "rules"

# robots.txt redirected to an address the guard refuses: cached as unavailable (RFC 9309
# §2.3.1.3 lets a crawler treat a redirect it will not follow as a missing file).

_LOCAL_SECONDS = 60.0
_LOCAL_ENTRIES = 4096
_LOCK_MS = 30_000


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased, without user info."""
    parts = urlsplit(url)
    host = host_of(url)
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme.lower()}://{host}{port}"


def robots_url(url: str) -> str:
    return origin_of(url) + "/robots.txt"


def agent_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: ``sluice`` in ``sluice/0.1 …``."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"


@dataclass(frozen=True)
class Robots:
    """One origin's verdict: ``allow`` everything, ``disallow`` everything, or ``rules``."""

    kind: str
    detail: str = ""
    body: str = ""

    def __post_init__(self) -> None:
        parsed = Protego.parse(self.body) if self.kind == RULES else None
        object.__setattr__(self, "_parsed", parsed)

    def allows(self, url: str, agent: str) -> bool:
        if self.kind == ALLOW_ALL:
            return True
        if self.kind == DISALLOW_ALL:
            return False
        return bool(self._parsed.can_fetch(url, agent))  # type: ignore[attr-defined]

    def crawl_delay(self, agent: str) -> float:
        """The ``Crawl-delay`` for ``agent`` in seconds (0 when none)."""
        if self.kind != RULES:
            return 0.0
        delay = self._parsed.crawl_delay(agent)  # type: ignore[attr-defined]
        return max(0.0, float(delay)) if delay else 0.0


def classify(fetch: Callable[[str], FetchedPage], url: str) -> Robots:
    """Fetch ``url``'s robots.txt with ``fetch`` and turn the answer into a verdict."""
    try:
        page = fetch(robots_url(url))
    except PermanentError as exc:
        if exc.reason in ("blocked_address", "invalid_url"):
            raise  # the origin itself: its pages would end the same way
        if exc.reason.startswith("http_4") or exc.reason in (
            "too_many_redirects",
            "unsupported_scheme",
            "bad_redirect",
            Reason.ROBOTS_REDIRECT_BLOCKED,
        ):
            return Robots(ALLOW_ALL, f"robots.txt unavailable ({exc.reason})")
        return Robots(DISALLOW_ALL, f"robots.txt unreadable ({exc.reason})")
    except RetryableError as exc:
        return Robots(DISALLOW_ALL, f"robots.txt unreachable ({exc.reason})")
    return Robots(RULES, "", page.body.decode("utf-8", errors="replace"))


class RobotsCache:
    """Cluster-wide robots.txt verdicts, per origin, in Redis with a TTL."""

    def __init__(
        self,
        client: redis.Redis,
        fetcher: Fetcher,
        settings: Settings,
        prefix: str = KEY_PREFIX,
    ) -> None:
        self.client = client
        self.fetcher = fetcher
        self.settings = settings
        self.agent = agent_token(settings.user_agent)
        self.prefix = prefix
        self._local: OrderedDict[str, tuple[float, Robots]] = OrderedDict()

    def _key(self, origin: str) -> str:
        return f"{self.prefix}robots:{origin}"

    def cached(self, url: str) -> Robots | None:
        """The verdict for ``url``'s origin if one is cached, else ``None``."""
        origin = origin_of(url)
        local = self._local.get(origin)
        now = time.monotonic()
        if local is not None and local[0] > now:
            return local[1]
        pipe = self.client.pipeline()
        pipe.hmget(self._key(origin), "kind", "detail", "body")
        pipe.pttl(self._key(origin))
        (kind, detail, body), ttl_ms = pipe.execute()
        if kind is None:
            self._local.pop(origin, None)
            return None
        robots = Robots(kind.decode(), (detail or b"").decode(), (body or b"").decode())
        self._remember(origin, robots, min(_LOCAL_SECONDS, max(ttl_ms, 0) / 1000))
        return robots

    def _remember(self, origin: str, robots: Robots, seconds: float) -> None:
        self._local[origin] = (time.monotonic() + seconds, robots)
        self._local.move_to_end(origin)
        while len(self._local) > _LOCAL_ENTRIES:
            self._local.popitem(last=False)

    def claim(self, url: str, holder: str) -> bool:
        """Take the right to fetch ``url``'s robots.txt (for half a minute)."""
        key = self._key(origin_of(url)) + ":lock"
        return bool(self.client.set(key, holder, nx=True, px=_LOCK_MS))

    def release(self, url: str) -> None:
        self.client.delete(self._key(origin_of(url)) + ":lock")

    def fetch(self, url: str) -> Robots:
        """Fetch, classify and cache ``url``'s robots.txt, whatever it answers.

        Raises only ``blocked_address`` or ``invalid_url`` for the origin itself (its
        pages end the same way); a redirect elsewhere, even to a blocked address, is an
        answer, and cached like the others.
        """

        limit = self.settings.robots_max_bytes

        def get(start: str) -> FetchedPage:
            def request(target: str) -> FetchedPage | Redirect:
                try:
                    return downloaded(
                        self.fetcher.hop(target, ANY_CONTENT_TYPE, max_bytes=limit, truncate=True)
                    )
                except PermanentError as exc:
                    if exc.reason == "blocked_address" and target != start:
                        raise PermanentError(Reason.ROBOTS_REDIRECT_BLOCKED, exc.detail) from exc
                    raise

            return follow(request, start, self.settings.fetch_max_redirects)

        robots = classify(get, url)
        settings = self.settings
        ttl = settings.robots_error_ttl if robots.kind == DISALLOW_ALL else settings.robots_ttl
        key = self._key(origin_of(url))
        pipe = self.client.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping={"kind": robots.kind, "detail": robots.detail, "body": robots.body})
        pipe.expire(key, max(1, ttl))
        pipe.execute()
        self._remember(origin_of(url), robots, min(_LOCAL_SECONDS, ttl))
        return robots

    def check(self, robots: Robots, url: str) -> None:
        """Raise ``robots_disallowed`` unless ``robots`` lets sluice fetch ``url``.

        A rule is final (:class:`PermanentError`); an unreachable robots.txt only disallows
        for now (:class:`RetryableError`, tried again once the verdict has expired).
        """
        if robots.allows(url, self.agent):
            return
        if robots.kind == DISALLOW_ALL:
            raise RetryableError(
                Reason.ROBOTS_DISALLOWED,
                f"{robots.detail}: {url[:200]}",
                retry_after=float(self.settings.robots_error_ttl),
            )
        raise PermanentError(Reason.ROBOTS_DISALLOWED, f"disallowed by robots.txt: {url[:200]}")
