"""Section pages that gain article links over time, on loopback: the living mode of the
generated news site, for watched-section runs."""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate, parsedate_to_datetime
from html import escape
from typing import Any
from urllib.parse import urlsplit

from tests.support.news_site import HTML, SITE_NAME, session_id, slug
from tests.support.news_text import byline, headline, paragraphs, teaser
from tests.support.site_server import Answer, HostServer

__all__ = ["LiveLink", "LiveSections", "gap_between"]


@dataclass(frozen=True, slots=True)
class LiveLink:
    """An article link a live section gained, and when."""

    section: int
    seq: int
    path: str
    appeared: float
    initial: bool  # on the page from the start


@dataclass
class _LiveSection:
    index: int
    links: list[LiveLink]
    body: bytes = b""
    etag: str = ""
    modified: int = 0
    polls: list[tuple[float, int]] = field(default_factory=list)  # (time, status)
    by_path: dict[str, LiveLink] = field(default_factory=dict)


Gap = Callable[[int, random.Random], float]


def gap_between(low: float, high: float) -> Gap:
    """A schedule: each section's next link ``low``-``high`` seconds after its last."""
    return lambda _section, rng: rng.uniform(low, high)


class LiveSections:
    """``sections`` section pages ``/live/N/`` on ``host``, each gaining an article link
    every ``gap(N, rng)`` seconds once started. A page lists its latest ``keep`` links with
    navigation that is no article (other sections, a tag, page 2); it sends an ETag and a
    Last-Modified and answers conditional requests with 304. :attr:`links` records when each
    link appeared."""

    def __init__(
        self,
        sections: int,
        gap: Gap,
        *,
        initial: int = 3,
        keep: int = 20,
        seed: int = 1,
        host: str = "127.0.0.2",
    ) -> None:
        self.seed = seed
        self.keep = keep
        self.gap = gap
        self.lock = threading.Lock()
        self._rng = random.Random(seed)
        self._server = HostServer(host, self._answer)
        self.base_url = self._server.base_url
        now = time.time()
        self.sections = [_LiveSection(n, []) for n in range(sections)]
        for section in self.sections:
            for _ in range(initial):
                self._add(section, now, initial=True)
            self._render(section, now)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-sections", daemon=True)

    def url(self, path: str) -> str:
        return self.base_url + path

    def section_urls(self) -> list[str]:
        return [self.url(f"/live/{s.index}/") for s in self.sections]

    @property
    def links(self) -> list[LiveLink]:
        with self.lock:
            return [link for s in self.sections for link in s.links]

    def polls(self) -> tuple[int, int]:
        """Requests for section pages so far, and how many were answered 304."""
        with self.lock:
            every = [status for s in self.sections for _, status in s.polls]
        return len(every), every.count(304)

    def poll_times(self, section: int) -> list[tuple[float, int]]:
        """When section ``section`` was requested, and the status it was answered with."""
        with self.lock:
            return list(self.sections[section].polls)

    def requests(self) -> Counter[str]:
        return self._server.hits()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop publishing (the pages are still served until :meth:`close`)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def close(self) -> None:
        self.stop()
        self._server.close()

    def __enter__(self) -> LiveSections:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _add(self, section: _LiveSection, now: float, *, initial: bool) -> LiveLink:
        seq = len(section.links)
        day = datetime.fromtimestamp(now, UTC)
        title = headline(self.seed, f"live-{section.index}-{seq}")
        path = f"/live/{section.index}/{day:%Y/%m/%d}/{slug(title)}-{seq}.html"
        link = LiveLink(section.index, seq, path, now, initial)
        section.links.append(link)
        section.by_path[path] = link
        return link

    def _render(self, section: _LiveSection, now: float) -> None:
        latest = section.links[-self.keep :][::-1]
        items = "".join(
            f'<li><article class="teaser"><h2><a href="{link.path}">'
            f"{escape(headline(self.seed, f'live-{section.index}-{link.seq}'))}</a></h2>"
            f"<p>{teaser(self.seed, f'live-{section.index}-{link.seq}')}</p></article></li>"
            for link in latest
        )
        others = "".join(
            f'<li><a href="/live/{(section.index + k) % len(self.sections)}/">Desk '
            f"{(section.index + k) % len(self.sections)}</a></li>"
            for k in range(1, 4)
        )
        section.body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>Desk {section.index} | {SITE_NAME}</title>"
            '<meta property="og:type" content="website"></head><body>'
            f'<header><a href="/?sid={session_id(self.seed, str(section.index))}">{SITE_NAME}</a>'
            f"<nav><ul>{others}</ul></nav></header><main><h1>Desk {section.index}</h1>"
            f'<ul class="stories">{items}</ul><nav class="pagination">'
            f'<a href="/live/{section.index}/?page=2">Older</a></nav>'
            f'<p><a href="/tag/desk-{section.index}/">Topic</a></p></main></body></html>'
        ).encode()
        section.etag = '"' + hashlib.sha1(section.body).hexdigest()[:20] + '"'
        # Strictly later each change: two versions within a second must not share a date.
        section.modified = max(int(now), section.modified + 1)

    def _run(self) -> None:
        queue = sorted((time.time() + self.gap(s.index, self._rng), s.index) for s in self.sections)
        while not self._stopping.is_set():
            due, index = queue[0]
            wait = due - time.time()
            if wait > 0:
                self._stopping.wait(min(wait, 0.5))
                continue
            section = self.sections[index]
            now = time.time()
            with self.lock:
                self._add(section, now, initial=False)
                self._render(section, now)
            queue[0] = (due + self.gap(index, self._rng), index)
            queue.sort()

    def _answer(self, target: str, headers: Any) -> Answer:
        path = urlsplit(target).path
        parts = [p for p in path.split("/") if p]
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
        if len(parts) >= 2 and parts[0] == "live" and parts[1].isdigit():
            n = int(parts[1])
            if n < len(self.sections):
                section = self.sections[n]
                if len(parts) == 2 and "?" not in target:
                    return self._section(section, headers)
                with self.lock:
                    link = section.by_path.get(path)
                if link is not None:
                    return 200, HTML, self._story(link)
        return 404, HTML, b"<html><body><p>No such page.</p></body></html>"

    def _story(self, link: LiveLink) -> bytes:
        key = f"live-{link.section}-{link.seq}"
        title = escape(headline(self.seed, key))
        body = "".join(f"<p>{t}</p>" for t in paragraphs(self.seed, key, 5))
        published = datetime.fromtimestamp(link.appeared, UTC).isoformat()
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<title>{title}</title><meta property="og:type" content="article">'
            f'<meta property="article:published_time" content="{published}"></head><body>'
            f'<article><h1>{title}</h1><p class="byline">By {byline(self.seed, key)}</p>'
            f"{body}</article></body></html>"
        ).encode()

    def _section(self, section: _LiveSection, headers: Any) -> Answer:
        with self.lock:
            sent = {
                **HTML,
                "ETag": section.etag,
                "Last-Modified": formatdate(section.modified, usegmt=True),
            }
            status = 304 if _not_modified(section, headers) else 200
            section.polls.append((time.time(), status))
            return status, sent, section.body if status == 200 else b""


def _not_modified(section: _LiveSection, headers: Any) -> bool:
    """RFC 9110: If-None-Match when sent, else If-Modified-Since."""
    match = headers.get("If-None-Match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return section.etag in tags or "*" in tags
    since = headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(since).timestamp() >= section.modified
    except (TypeError, ValueError):
        return False
