"""Crawler traps told from URL shapes, session ids taken out, and the seen set's sizing."""

from __future__ import annotations

import pytest

from sluice.workers.crawl.seen import buckets_for, url_digest
from sluice.workers.crawl.traps import crawl_url, pattern_of, trap_of


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("http://h/a?PHPSESSID=1&b=2", "http://h/a?b=2"),
        ("http://h/a;jsessionid=ABC?x=1", "http://h/a?x=1"),
        ("http://h/a?sid=9", "http://h/a"),
        ("http://h/a?b=2&c=3", "http://h/a?b=2&c=3"),  # untouched, same spelling
    ],
)
def test_session_ids_are_dropped(url: str, clean: str) -> None:
    assert crawl_url(url) == clean


@pytest.mark.parametrize(
    ("url", "trap"),
    [
        ("http://h/a/b/a/b/a/b", "repeated_path"),
        ("http://h/" + "/".join(f"s{n}" for n in range(17)), "deep_path"),
        ("http://h/news/2026/12/07/a-story", None),
        ("http://h/a/a/b", None),
    ],
)
def test_trap_shapes(url: str, trap: str | None) -> None:
    assert trap_of(url) == trap


def test_calendars_and_query_spaces_share_a_pattern_articles_do_not() -> None:
    assert pattern_of("http://h/calendar/2026/12") == pattern_of("http://h/calendar/1999/01")
    assert pattern_of("http://h/day/2026-12-07") == pattern_of("http://h/day/2027-01-01")
    assert pattern_of("http://h/search?q=a") == pattern_of("http://h/search?q=b&q=c")
    assert pattern_of("http://h/search?q=a") != pattern_of("http://h/search?q=a&page=2")
    assert pattern_of("http://h/article/12345") is None
    assert pattern_of("http://h/s0/page/3") is None
    one = pattern_of("http://h/2026/12/07/a-story")
    assert one is not None and one != pattern_of("http://h/2026/12/07/another")


def test_seen_set_buckets_hold_about_64_urls() -> None:
    assert buckets_for(None) == buckets_for(0) == 256
    assert buckets_for(100_000) == 2048
    assert buckets_for(10_000_000) == 262_144
    assert len(url_digest("http://h/")) == 8
