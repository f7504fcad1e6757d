"""The seen set on a real Redis: each URL once per job, its finder's again, and the crawl's
caps (pages, per host, per pattern) counted and never passed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sluice.shared.jobs import new_job_id
from sluice.shared.redis_state import get_redis
from sluice.workers.crawl import seen
from sluice.workers.crawl.seen import Claim, Verdict


@pytest.fixture
def job() -> Iterator[str]:
    job_id = new_job_id()
    yield job_id
    seen.forget(get_redis(), job_id)


def test_a_url_is_one_finders_and_known_to_others(job: str) -> None:
    client = get_redis()
    urls = [Claim("http://h/a", "h"), Claim("http://h/b", "h")]
    assert seen.claim(client, job, 1, urls) == [Verdict.MINE, Verdict.MINE]
    assert seen.claim(client, job, 2, urls[:1]) == [Verdict.KNOWN]
    assert seen.claim(client, job, 1, urls) == [Verdict.AGAIN, Verdict.AGAIN]
    assert seen.seen_size(client, job) == 2


def test_caps_are_never_passed(job: str) -> None:
    client = get_redis()
    calendar = [Claim(f"http://h/cal/2026/{m}", "h", "h/cal/0/0?") for m in range(1, 13)]
    verdicts = seen.claim(client, job, 1, calendar, pattern_cap=3)
    assert verdicts.count(Verdict.MINE) == 3 and verdicts.count(Verdict.PATTERN_CAP) == 9
    others = [Claim(f"http://o/{n}", "o") for n in range(5)]
    verdicts = seen.claim(client, job, 1, others, host_cap=2)
    assert verdicts.count(Verdict.MINE) == 2 and verdicts.count(Verdict.HOST_CAP) == 3
    more = [Claim(f"http://p/{n}", "p") for n in range(5)]
    verdicts = seen.claim(client, job, 1, more, max_pages=6)
    assert verdicts.count(Verdict.MINE) == 1 and verdicts.count(Verdict.MAX_PAGES) == 4
    assert seen.seen_size(client, job) == 6


def test_buckets_stay_listpacks(job: str) -> None:
    client = get_redis()
    buckets = seen.buckets_for(5000)
    urls = [Claim(f"http://h/story-{n}.html", "h") for n in range(5000)]
    for start in range(0, len(urls), 500):
        seen.claim(client, job, 1, urls[start : start + 500], buckets=buckets)
    keys = [k for k in client.scan_iter(match=f"sluice:seen:{job}:*") if not k.endswith(b"caps")]
    assert len(keys) == buckets
    assert {client.object("encoding", k) for k in keys} == {b"listpack"}


def test_only_patterns_met_again_are_counted_in_the_caps_hash(job: str) -> None:
    """A dated article's pattern is its own: it sets bits in the pattern filter and adds no
    counter; a calendar's pattern is met again and counted, and capped exactly."""
    client = get_redis()
    buckets = seen.buckets_for(2000)
    articles = [
        Claim(f"http://h/2026/03/{d:02d}/story-{n}.html", "h", f"h/0/0/0/story-{n}.html")
        for n, d in enumerate(range(1, 29))
    ]
    verdicts = seen.claim(client, job, 1, articles, buckets=buckets, pattern_cap=2)
    assert verdicts == [Verdict.MINE] * len(articles)
    calendar = [Claim(f"http://h/cal/2026/{m}", "h", "h/cal/0/0?") for m in range(1, 13)]
    verdicts = seen.claim(client, job, 2, calendar, buckets=buckets, pattern_cap=4)
    assert verdicts.count(Verdict.MINE) == 4 and verdicts.count(Verdict.PATTERN_CAP) == 8
    caps = client.hgetall(seen.caps_key(job))
    assert [k for k in caps if k.startswith(b"p:")] == [b"p:" + seen.url_digest("h/cal/0/0?")]
    assert caps[b"p:" + seen.url_digest("h/cal/0/0?")] == b"4"
    # The filter is made whole at once: 10 bits per URL its buckets hold (no --max-pages).
    assert client.strlen(f"sluice:seen:{job}:patterns") == buckets * 64 * 10 // 8
