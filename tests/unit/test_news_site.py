"""The generated news site the crawl benchmarks run on: its ground truth is reachable, its
traps are traps, and its servers count what they are asked."""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest

from tests.support.live_sections import LiveSections, gap_between
from tests.support.news_site import ARTICLE, HUB, NewsSite, SiteMap, page_key

_HREF = re.compile(r'href="([^"]+)"')


def _links(body: bytes, base: str) -> list[str]:
    return [urljoin(base, h.replace("&amp;", "&")) for h in _HREF.findall(body.decode())]


def _walk(site: SiteMap, depth: int) -> dict[str, int]:
    """Each page key reached from the front page within ``depth`` links, with its depth,
    as a crawler that drops session ids and utm_ parameters and obeys robots.txt would."""
    base = "http://site.test"
    reached = {"/": 0}
    todo = deque(["/"])
    while todo:
        key = todo.popleft()
        status, _, body = site.render(key, ["http://partner.test"])
        assert status == 200, key
        if reached[key] == depth:
            continue
        for link in _links(body, base + key):
            parts = urlsplit(link)
            if parts.netloc != "site.test":
                continue
            found = page_key(parts.path + (f"?{parts.query}" if parts.query else ""))
            if found.startswith("/account/") or found in reached:
                continue
            reached[found] = reached[key] + 1
            todo.append(found)
    return reached


def test_every_page_of_the_ground_truth_is_within_three_links_of_the_front_page() -> None:
    site = SiteMap(400, seed=3)
    truth = site.truth()
    reached = _walk(site, depth=5)
    assert set(truth) <= set(reached)
    assert max(reached[k] for k in truth) == 3
    # Beyond the truth, only calendar days: the trap.
    assert {site.kind_of(k) for k in set(reached) - set(truth)} == {"trap"}
    assert {site.kind_of(k) for k in truth} == {ARTICLE, HUB}


@pytest.mark.parametrize("pages", [300, 2000, 20000])
def test_the_site_has_about_the_pages_asked_for_mostly_articles(pages: int) -> None:
    truth = SiteMap(pages).truth()
    assert abs(len(truth) - pages) <= pages * 0.02
    hubs = sum(1 for kind in truth.values() if kind == HUB)
    assert 0.05 < hubs / len(truth) < 0.2


def test_the_same_seed_makes_the_same_site_and_no_two_articles_share_a_sentence() -> None:
    a, b = SiteMap(200, seed=5), SiteMap(200, seed=5)
    assert a.truth() == b.truth()
    story = a.stories[7]
    assert a.render(story.path, []) == b.render(story.path, [])
    sentences: set[str] = set()
    for story in a.stories[:50]:
        text = a.render(story.path, [])[2].decode()
        paragraphs = re.findall(r"<p>([^<]{80,})</p>", text)
        mine = {s for p in paragraphs for s in p.split(". ")}
        assert mine and not mine & sentences
        sentences |= mine


def test_page_key_drops_session_ids_and_tracking_but_keeps_the_page_number() -> None:
    assert page_key("/a.html?sid=abc") == "/a.html"
    assert page_key("/?utm_source=x&utm_medium=y") == "/"
    assert page_key("/tag/t/?page=2&sid=abc") == "/tag/t/?page=2"


def test_the_calendar_goes_on_for_ever_and_other_shapes_are_missing() -> None:
    site = SiteMap(100)
    status, _, body = site.render("/archive/2400/01/01/", [])
    assert status == 200 and b'href="/archive/2400/01/02/"' in body
    assert site.kind_of("/archive/2400/01/01/") == "trap"
    for missing in ("/section/nowhere/", "/section/world/page/1/", "/tag/topic-0/?page=1"):
        assert site.render(missing, [])[0] == 404, missing
    assert site.render("/account/login?next=/", [])[0] == 200
    assert b"Disallow: /account/" in site.render("/robots.txt", [])[2]


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, b"", dict(error.headers)


def test_the_served_site_counts_each_request_and_the_partners_theirs() -> None:
    with NewsSite(60) as site:
        status, body, _ = _get(site.url("/"))
        assert status == 200
        partners = [u for u in _links(body, site.url("/")) if not u.startswith(site.base_url)]
        assert sorted({urlsplit(u).netloc for u in partners}) == sorted(
            urlsplit(p).netloc for p in site.partner_urls
        )
        _get(site.url("/?sid=abc"))
        assert site.partner_requests() == 0
        _get(partners[0])
        assert site.partner_requests() == 1
        assert site.fetches() == {"/": 2}
        assert len(site.request_times()) == 2


def test_live_sections_gain_links_and_answer_conditional_requests() -> None:
    with LiveSections(2, gap_between(0.05, 0.1), initial=2, keep=5) as live:
        first = live.section_urls()[0]
        status, body, headers = _get(first)
        assert status == 200 and len(live.links) == 4
        assert _get(first, {"If-None-Match": headers["ETag"]})[0] == 304
        live.start()
        deadline = time.monotonic() + 10
        while len(live.links) < 12 and time.monotonic() < deadline:
            time.sleep(0.05)
        live.stop()
        newest = max((k for k in live.links if k.section == 0), key=lambda k: k.seq)
        status, body, _ = _get(first, {"If-None-Match": headers["ETag"]})
        assert status == 200 and newest.path.encode() in body
        assert body.count(b'class="teaser"') == 5  # the latest ``keep``
        assert _get(live.url(newest.path))[0] == 200
        assert _get(live.url("/live/0/2026/01/01/no-such-story-99.html"))[0] == 404
        assert live.polls() == (3, 1)
