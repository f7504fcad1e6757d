"""A generated news site on loopback, for crawl tests and benchmarks.

``NewsSite(pages=N)`` serves about ``N`` pages (articles and hubs, the ground truth) from one
loopback address, deterministic for a seed:

* the front page ``/``: the sections, every tag, the latest stories (a few with ``utm_``
  tracking parameters), today's archive day, links to two partner hosts;
* sections ``/section/NAME/`` with pagination ``/section/NAME/page/N/`` (every page number
  linked from each page, so a story is three links from the front page);
* tags ``/tag/NAME/`` with pagination ``/tag/NAME/?page=N``;
* articles (``/YYYY/MM/DD/slug-ID.html`` or ``/SECTION/story/ID-slug``): headline, byline,
  date, paragraphs, ``og:type`` article, related stories, tags, a partner link now and then;
* hard cases for telling hubs from articles: one article in five has no page metadata, one
  in thirteen is a one-paragraph brief, one section page in four says ``og:type`` article,
  and a topic's first page opens with an introduction;
* a calendar trap ``/archive/YYYY/MM/DD/``: each day links the day before and after, for
  ever (no ground truth: every fetch of one is a trap URL fetched);
* a session id ``?sid=…`` on every page's home link and every article's permalink: the same
  page under another URL;
* ``/robots.txt`` disallowing ``/account/``, which every page links to.

Two more loopback addresses serve the partner hosts (out of scope of a host crawl): any
request they receive is counted. Every request is counted by host and by target
(:attr:`NewsSite.requests`); :func:`page_key` takes the session id and tracking parameters
off a target, so that fetches of one page under two URLs count as two fetches of it.

:class:`tests.support.live_sections.LiveSections` is its living mode: section pages that
gain article links over time, for watched-section runs.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit

from tests.support.news_text import byline, headline, paragraphs, teaser
from tests.support.site_server import Answer, HostServer

__all__ = [
    "ARTICLE",
    "HTML",
    "HUB",
    "SITE_NAME",
    "TRAP",
    "NewsSite",
    "SiteMap",
    "Story",
    "page_key",
    "session_id",
    "slug",
]

ARTICLE = "article"
HUB = "hub"
TRAP = "trap"  # a calendar day
DISALLOWED = "disallowed"  # under /account/, which robots.txt disallows
MISSING = "missing"  # no such page: 404
ROBOTS = "robots"

SITE_NAME = "The Loopback Herald"
PER_SECTION_PAGE = 20
PER_TAG_PAGE = 30
FRONT_STORIES = 30
TAGS_PER_STORY = 2
RELATED = 4
_SECTIONS = [
    "world",
    "politics",
    "business",
    "science",
    "health",
    "sport",
    "culture",
    "travel",
    "opinion",
    "climate",
    "education",
    "technology",
]
_LAST_DAY = date(2026, 3, 31)
HTML = {"Content-Type": "text/html; charset=utf-8"}
# Dropped by page_key: a session id and tracking parameters (the page's own are kept).
_NOT_THE_PAGE = ("sid", "utm_")


def page_key(target: str) -> str:
    """The page a request target names: its path and its own query parameters (``page``),
    without a session id or ``utm_`` parameters."""
    parts = urlsplit(target)
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.startswith(_NOT_THE_PAGE)
    ]
    return parts.path + (f"?{urlencode(kept)}" if kept else "")


def session_id(seed: int, path: str) -> str:
    """The ``sid`` a page's links carry: another URL for the same page."""
    return hashlib.sha1(f"{seed}:{path}".encode()).hexdigest()[:16]


def slug(text: str) -> str:
    return "-".join(text.lower().split())


@dataclass(frozen=True, slots=True)
class Story:
    """One article of the site."""

    id: int
    section: str
    day: date
    tags: tuple[str, ...]
    headline: str
    path: str


class SiteMap:
    """The site's shape for ``pages`` pages and a seed: which pages exist and what they say."""

    def __init__(self, pages: int, seed: int = 1) -> None:
        self.seed = seed
        self.articles = self._articles_for(pages)
        n = self.articles
        self.sections = list(_SECTIONS[: self._section_count(n)])
        self.tags = [f"topic-{t}" for t in range(self._tag_count(n))]
        rng = random.Random(seed)
        span = max(7, n // 40)  # days the stories are spread over, newest first
        self.stories: list[Story] = []
        for i in range(n):
            section = self.sections[rng.randrange(len(self.sections))]
            tags = tuple(rng.sample(self.tags, min(TAGS_PER_STORY, len(self.tags))))
            day = _LAST_DAY - timedelta(days=i * span // n)
            title = headline(seed, f"story-{i}")
            if self.sections.index(section) % 2 == 0:
                path = f"/{day:%Y/%m/%d}/{slug(title)}-{i}.html"
            else:
                path = f"/{section}/story/{i}-{slug(title)}"
            self.stories.append(Story(i, section, day, tags, title, path))
        self.by_path = {s.path: s for s in self.stories}
        self.in_section: dict[str, list[Story]] = {s: [] for s in self.sections}
        self.in_tag: dict[str, list[Story]] = {t: [] for t in self.tags}
        self.on_day: dict[date, list[Story]] = {}
        for story in self.stories:
            self.in_section[story.section].append(story)
            for tag in story.tags:
                self.in_tag[tag].append(story)
            self.on_day.setdefault(story.day, []).append(story)

    @staticmethod
    def _section_count(articles: int) -> int:
        return max(2, min(len(_SECTIONS), articles // 25))

    @staticmethod
    def _tag_count(articles: int) -> int:
        return max(3, articles // 100)

    @classmethod
    def _hubs_for(cls, articles: int) -> int:
        sections, tags = cls._section_count(articles), cls._tag_count(articles)
        per_section = -(-articles // sections)
        per_tag = -(-articles * TAGS_PER_STORY // tags)
        return (
            1 + sections * -(-per_section // PER_SECTION_PAGE) + tags * -(-per_tag // PER_TAG_PAGE)
        )

    @classmethod
    def _articles_for(cls, pages: int) -> int:
        """The most articles whose site (articles and hubs, about) fits in ``pages``."""
        articles = max(1, pages)
        while articles > 1 and articles + cls._hubs_for(articles) > pages:
            articles -= max(1, (articles + cls._hubs_for(articles) - pages) // 2)
        return articles

    # --- ground truth -------------------------------------------------------------------

    def truth(self) -> dict[str, str]:
        """Every page of the site by :func:`page_key`: ``article`` or ``hub``."""
        kinds = {s.path: ARTICLE for s in self.stories}
        kinds["/"] = HUB
        for section, stories in self.in_section.items():
            for n in range(1, self._page_count(len(stories), PER_SECTION_PAGE) + 1):
                kinds[self.section_path(section, n)] = HUB
        for tag, stories in self.in_tag.items():
            for n in range(1, self._page_count(len(stories), PER_TAG_PAGE) + 1):
                kinds[self.tag_path(tag, n)] = HUB
        return kinds

    def kind_of(self, key: str) -> str:
        """What a :func:`page_key` names: article, hub, trap, disallowed, robots or missing."""
        if key == "/robots.txt":
            return ROBOTS
        if key.startswith("/account/"):
            return DISALLOWED
        if key.startswith("/archive/") and self._archive_day(key) is not None:
            return TRAP
        if key in self.by_path:
            return ARTICLE
        return HUB if self._hub(key) is not None else MISSING

    @staticmethod
    def _page_count(items: int, per_page: int) -> int:
        return max(1, -(-items // per_page))

    @staticmethod
    def section_path(section: str, n: int = 1) -> str:
        return f"/section/{section}/" + (f"page/{n}/" if n > 1 else "")

    @staticmethod
    def tag_path(tag: str, n: int = 1) -> str:
        return f"/tag/{tag}/" + (f"?page={n}" if n > 1 else "")

    @staticmethod
    def archive_path(day: date) -> str:
        return f"/archive/{day:%Y/%m/%d}/"

    # --- pages --------------------------------------------------------------------------

    def render(self, target: str, partners: list[str]) -> Answer:
        """Status, headers and body for a GET of ``target`` on the site's host."""
        key = page_key(target)
        kind = self.kind_of(key)
        if kind == ROBOTS:
            robots = b"User-agent: *\nDisallow: /account/\n"
            return 200, {"Content-Type": "text/plain"}, robots
        if kind == DISALLOWED:
            return 200, HTML, self._document(key, "Sign in", "<form>Sign in</form>", "website")
        if kind == ARTICLE:
            return 200, HTML, self._article(self.by_path[key], partners)
        if kind == TRAP:
            day = self._archive_day(key)
            assert day is not None
            return 200, HTML, self._archive(day)
        if kind == HUB:
            return 200, HTML, self._render_hub(key, partners)
        return 404, HTML, self._document(key, "Not found", "<p>No such page.</p>", "website")

    def _hub(self, key: str) -> tuple[str, str, int] | None:
        """``("front"|"section"|"tag", name, page)`` for a hub's key, else ``None``."""
        if key == "/":
            return ("front", "", 1)
        path, _, query = key.partition("?")
        parts = [p for p in path.split("/") if p]
        if parts[:1] == ["section"] and len(parts) in (2, 4) and not query:
            name = parts[1]
            if name not in self.in_section:
                return None
            if len(parts) == 2:
                return ("section", name, 1)
            if parts[2] != "page" or not parts[3].isdigit():
                return None
            n, pages = int(parts[3]), self._page_count(len(self.in_section[name]), PER_SECTION_PAGE)
            return ("section", name, n) if 2 <= n <= pages else None
        if len(parts) == 2 and parts[0] == "tag" and parts[1] in self.in_tag:
            params = dict(parse_qsl(query))
            page = params.get("page", "1")
            if set(params) - {"page"} or not page.isdigit() or (query and page == "1"):
                return None
            pages = self._page_count(len(self.in_tag[parts[1]]), PER_TAG_PAGE)
            return ("tag", parts[1], int(page)) if 1 <= int(page) <= pages else None
        return None

    @staticmethod
    def _archive_day(key: str) -> date | None:
        parts = [p for p in key.split("?", 1)[0].split("/") if p]
        if len(parts) != 4 or not all(p.isdigit() for p in parts[1:]):
            return None
        try:
            return date(int(parts[1]), int(parts[2]), int(parts[3]))
        except ValueError:
            return None

    def _chrome(self, path: str) -> tuple[str, str]:
        """The header and footer every page shares."""
        nav = "".join(
            f'<li><a href="{self.section_path(s)}">{s.capitalize()}</a></li>' for s in self.sections
        )
        header = (
            f'<header><a class="logo" href="/?sid={session_id(self.seed, path)}">{SITE_NAME}</a>'
            f'<nav class="sections"><ul>{nav}</ul></nav>'
            f'<a class="account" href="/account/login?next={escape(path)}">Sign in</a></header>'
        )
        footer = (
            f"<footer><p>&copy; 2026 {SITE_NAME}. All rights reserved.</p>"
            f'<a href="{self.archive_path(_LAST_DAY)}">Archive</a></footer>'
        )
        return header, footer

    def _document(self, path: str, title: str, main: str, og_type: str, head: str = "") -> bytes:
        """A page with the site's header and footer; ``og_type`` "" sends no metadata."""
        header, footer = self._chrome(path)
        meta = (
            f'<meta property="og:type" content="{og_type}">'
            f'<meta property="og:site_name" content="{SITE_NAME}">{head}'
            if og_type
            else ""
        )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)} | {SITE_NAME}</title>{meta}</head>"
            f"<body>{header}<main>{main}</main>{footer}</body></html>"
        ).encode()

    def _teasers(self, stories: list[Story], tracked: int = 0) -> str:
        items = []
        for n, story in enumerate(stories):
            href = story.path + ("?utm_source=front&utm_medium=top" if n < tracked else "")
            items.append(
                f'<li><article class="teaser"><h2><a href="{escape(href)}">'
                f"{escape(story.headline)}</a></h2>"
                f'<time datetime="{story.day.isoformat()}">{story.day:%B %d, %Y}</time>'
                f"<p>{teaser(self.seed, f'story-{story.id}')}</p></article></li>"
            )
        return f'<ul class="stories">{"".join(items)}</ul>'

    @staticmethod
    def _pagination(paths: list[str], current: int) -> str:
        links = "".join(
            f"<li>{n}</li>" if n == current else f'<li><a href="{p}">{n}</a></li>'
            for n, p in enumerate(paths, 1)
        )
        return f'<nav class="pagination"><ul>{links}</ul></nav>'

    def _render_hub(self, key: str, partners: list[str]) -> bytes:
        found = self._hub(key)
        assert found is not None
        kind, name, n = found
        if kind == "front":
            return self._front(partners)
        if kind == "section":
            stories, per, path_of = self.in_section[name], PER_SECTION_PAGE, self.section_path
            title = name.capitalize()
        else:
            stories, per, path_of = self.in_tag[name], PER_TAG_PAGE, self.tag_path
            title = f"Topic: {name}"
        count = self._page_count(len(stories), per)
        paths = [path_of(name, p) for p in range(1, count + 1)]
        head = "".join(
            f'<link rel="{rel}" href="{paths[p - 1]}">'
            for rel, p in (("prev", n - 1), ("next", n + 1))
            if 1 <= p <= count
        )
        # Hard cases: a topic's first page opens with an introduction, and one section page
        # in four calls itself an article (a CMS default left as it was).
        intro = (
            "".join(f"<p>{t}</p>" for t in paragraphs(self.seed, f"intro-{name}", 1))
            if kind == "tag" and n == 1
            else ""
        )
        mislabelled = kind == "section" and (len(name) + n) % 4 == 0
        main = (
            f"<h1>{escape(title)}</h1>{intro}"
            + self._teasers(stories[(n - 1) * per : n * per])
            + self._pagination(paths, n)
        )
        title += f", page {n}" if n > 1 else ""
        return self._document(key, title, main, "article" if mislabelled else "website", head)

    def _front(self, partners: list[str]) -> bytes:
        topics = "".join(f'<li><a href="{self.tag_path(t)}">{t}</a></li>' for t in self.tags)
        friends = "".join(
            f'<li><a href="{base}/">Partner {n + 1}</a></li>' for n, base in enumerate(partners)
        )
        main = (
            "<h1>Latest news</h1>"
            + self._teasers(self.stories[:FRONT_STORIES], tracked=5)
            + f'<section class="topics"><h2>Topics</h2><ul>{topics}</ul></section>'
            + f'<p><a href="{self.archive_path(_LAST_DAY)}">Today in the archive</a></p>'
            + f'<aside class="partners"><ul>{friends}</ul></aside>'
        )
        return self._document("/", "Latest news", main, "website")

    def _article(self, story: Story, partners: list[str]) -> bytes:
        key = f"story-{story.id}"
        siblings = self.in_section[story.section]
        at = siblings.index(story)
        related = [siblings[(at + k) % len(siblings)] for k in range(1, RELATED + 1)]
        related = [s for s in dict.fromkeys(related) if s is not story]
        # Hard cases: one story in thirteen is a brief of one paragraph; one in five has no
        # page metadata at all (no og:type, no published time: only what the page shows).
        brief = story.id % 13 == 2
        bare = story.id % 5 == 1
        count = 1 if brief else 5 + story.id % 4
        body = "".join(f"<p>{text}</p>" for text in paragraphs(self.seed, key, count))
        author = byline(self.seed, key)
        partner = ""
        for n, base in enumerate(partners):
            if story.id % (7 if n == 0 else 11) == 0:
                partner += (
                    f'<p>Also read <a href="{base}/story/{story.id}">on our partner site</a>.</p>'
                )
        tags = ", ".join(f'<a href="{self.tag_path(t)}">{t}</a>' for t in story.tags)
        links = "".join(f'<li><a href="{s.path}">{escape(s.headline)}</a></li>' for s in related)
        main = (
            f'<article><h1>{escape(story.headline)}</h1><p class="byline">By '
            f'<span class="author">{author}</span></p><time datetime="{story.day.isoformat()}'
            f'T08:00:00Z">{story.day:%B %d, %Y}</time>{body}{partner}'
            f'<p class="tags">Tags: {tags}</p>'
            f'<p><a href="{story.path}?sid={session_id(self.seed, story.path)}">Permalink</a> · '
            f'<a href="{self.archive_path(story.day)}">More from {story.day:%B %d}</a></p>'
            f'</article><aside class="related"><h2>Related</h2><ul>{links}</ul></aside>'
        )
        head = (
            f'<meta property="og:title" content="{escape(story.headline)}">'
            f'<meta name="author" content="{author}">'
            f'<meta property="article:published_time" content="{story.day.isoformat()}T08:00:00Z">'
            f'<meta property="article:section" content="{story.section}">'
        )
        return self._document(story.path, story.headline, main, "" if bare else "article", head)

    def _archive(self, day: date) -> bytes:
        path = self.archive_path(day)
        stories = self.on_day.get(day, [])
        around = "".join(
            f'<a rel="{rel}" href="{self.archive_path(d)}">{label}</a> '
            for rel, d, label in (
                ("prev", day - timedelta(days=1), "Previous day"),
                ("next", day + timedelta(days=1), "Next day"),
            )
            if date.min < d < date.max
        )
        main = (
            f"<h1>Archive: {day:%B %d, %Y}</h1>" + self._teasers(stories) + f"<nav>{around}</nav>"
        )
        return self._document(path, f"Archive {day:%Y-%m-%d}", main, "website")


def _partner_page(target: str, home: str) -> Answer:
    path = urlsplit(target).path
    if path == "/robots.txt":
        return 200, {"Content-Type": "text/plain"}, b"User-agent: *\nAllow: /\n"
    body = (
        f"<html><head><title>Partner {escape(path)}</title></head><body><article>"
        f"<h1>Partner story {escape(path)}</h1><p>A story told elsewhere.</p>"
        f'<a href="{home}/">Back to {SITE_NAME}</a></article></body></html>'
    ).encode()
    return 200, HTML, body


class NewsSite:
    """:class:`SiteMap` served on ``host`` with two partner hosts; close it when done."""

    def __init__(
        self,
        pages: int,
        seed: int = 1,
        host: str = "127.0.0.2",
        partners: tuple[str, str] = ("127.0.0.3", "127.0.0.4"),
    ) -> None:
        self.map = SiteMap(pages, seed)
        self._partners = [
            HostServer(a, lambda t, _h: _partner_page(t, self.base_url)) for a in partners
        ]
        partner_urls = [p.base_url for p in self._partners]
        self._server = HostServer(host, lambda t, _h: self.map.render(t, partner_urls))
        self.base_url = self._server.base_url
        self.partner_urls = partner_urls

    def __enter__(self) -> NewsSite:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def truth(self) -> dict[str, str]:
        """Every page's full URL (by :func:`page_key`): ``article`` or ``hub``."""
        return {self.url(key): kind for key, kind in self.map.truth().items()}

    @property
    def requests(self) -> Counter[str]:
        """Requests the site's host received, by target as sent."""
        return self._server.hits()

    def request_times(self) -> list[float]:
        """When the site's host received each request (seconds since the epoch)."""
        with self._server.lock:
            return list(self._server.times)

    def partner_requests(self) -> int:
        """Requests the two partner hosts received, robots.txt included."""
        return sum(sum(p.hits().values()) for p in self._partners)

    def fetches(self) -> Counter[str]:
        """Requests for pages by :func:`page_key` (robots.txt left out)."""
        counted: Counter[str] = Counter()
        for target, n in self.requests.items():
            key = page_key(target)
            if key != "/robots.txt":
                counted[key] += n
        return counted

    def close(self) -> None:
        for server in (self._server, *self._partners):
            server.close()
