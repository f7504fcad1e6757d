"""A small generated news site for the crawl tests, served on 127.0.0.2: a front page,
sections with pagination, articles, a calendar trap, session-id links, and links to a
second host (127.0.0.3) that is out of the crawl's scope.

Shape (``sections`` x ``pages`` x ``per_page`` articles): the front page (depth 0) links to
every section (1); a section's page ``p`` (depth ``p``) lists ``per_page`` articles and the
next page; each article links home, to its section, to the next article (again with a
``PHPSESSID`` and a fragment), and out of scope. The front page also links to
``/calendar/2026/12``, whose pages link to the months before and after, for ever, and to
``/moved.html``, which redirects to the other host.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.support.warcs import distinct_article_html
from tests.support.web import Response, WebServer

__all__ = ["CrawlSite"]

HOST = "127.0.0.2"
OTHER_HOST = "127.0.0.3"


def _hub(title: str, links: list[str]) -> bytes:
    items = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f"<h1>{title}</h1><ul>{items}</ul></body></html>"
    ).encode()


@dataclass
class CrawlSite:
    """The site's servers and what a crawl of it should find."""

    sections: int = 4
    pages: int = 4
    per_page: int = 10
    site: WebServer = field(init=False)
    other: WebServer = field(init=False)
    articles: list[str] = field(init=False, default_factory=list)
    hubs: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.site = WebServer(HOST)
        self.other = WebServer(OTHER_HOST)
        self.other.route("/elsewhere.html", Response(body=distinct_article_html(99_999).encode()))
        outside = self.other.url("/elsewhere.html")
        sections = [f"/s{k}/" for k in range(self.sections)]
        # A page of the site that redirects out of scope: not followed there.
        self.site.route("/moved.html", Response(301, b"", headers={"Location": outside}))
        front = [*sections, "/calendar/2026/12", "/moved.html", outside, "mailto:x@y.z"]
        self._hub("/", "Front page", front)
        n = 0
        for k in range(self.sections):
            for p in range(1, self.pages + 1):
                path = f"/s{k}/" if p == 1 else f"/s{k}/page/{p}"
                listed = [f"/a/{n + i}.html" for i in range(self.per_page)]
                more = [f"/s{k}/page/{p + 1}"] if p < self.pages else []
                self._hub(path, f"Section {k} page {p}", [*listed, *more, "/"])
                for i, article in enumerate(listed):
                    self._article(n + i, article, f"/s{k}/")
                n += self.per_page
        self.site.route("/calendar/", Response(404))
        for year in range(1990, 2060):
            for month in range(1, 13):
                self.site.route(f"/calendar/{year}/{month:02d}", self._calendar(year, month))

    def _hub(self, path: str, title: str, links: list[str]) -> None:
        self.site.route(path, Response(body=_hub(title, links)))
        self.hubs.append(self.site.url(path))

    def _article(self, n: int, path: str, section: str) -> None:
        following = f"/a/{(n + 1) % (self.sections * self.pages * self.per_page)}.html"
        extra = (
            f'<p><a href="/">Home</a> <a href="{section}">Section</a> '
            f'<a href="{following}">Next</a> <a href="{following}?PHPSESSID=s{n}">Next</a> '
            f'<a href="{following}#comments">Comments</a> '
            f'<a href="{self.other.url("/elsewhere.html")}">Elsewhere</a></p>'
        )
        self.site.route(path, Response(body=distinct_article_html(n, extra=extra).encode()))
        self.articles.append(self.site.url(path))

    @staticmethod
    def _calendar(year: int, month: int) -> Response:
        before = f"/calendar/{year - (month == 1)}/{(month - 2) % 12 + 1:02d}"
        after = f"/calendar/{year + (month == 12)}/{month % 12 + 1:02d}"
        return Response(body=_hub(f"Calendar {year}-{month:02d}", [before, after]))

    @property
    def front(self) -> str:
        return self.site.url("/")

    def fetches(self) -> dict[str, int]:
        """How often each path of the site was requested (robots.txt left out)."""
        counts: dict[str, int] = {}
        for path in self.site.hits:
            if path != "/robots.txt":
                counts[path] = counts.get(path, 0) + 1
        return counts

    def calendar_fetches(self) -> int:
        return sum(n for path, n in self.fetches().items() if path.startswith("/calendar/"))

    def close(self) -> None:
        self.site.close()
        self.other.close()
