"""What a poll changes in its feed's row: learned interval, backoff, disabling."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sluice.shared.feeds import Feed
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.feeds.outcomes import after_failure, after_success
from sluice.workers.feeds.schedule import Hints

SETTINGS = Settings(
    feed_min_interval=60, feed_max_interval=3600, feed_disable_after=3, feed_interval=600
)


def _feed(**values: Any) -> Feed:
    base: dict[str, Any] = dict.fromkeys(Feed.__slots__)  # type: ignore[attr-defined]
    base |= {"id": 1, "url": "http://127.0.0.2/f", "kind": "feed", "state": "active"}
    base |= {"job_id": "j", "interval": 600.0, "next_poll_at": 0.0}
    base |= {"polls": 4, "failures": 0, "entries": 10}
    return Feed(**(base | values))


def test_a_quiet_feed_is_polled_less_often_and_a_busy_one_more() -> None:
    rng = random.Random(1)
    quiet = after_success(
        _feed(),
        now=1000,
        outcome=Reason.FEED_UNCHANGED,
        new=0,
        published=[],
        hints=Hints(),
        settings=SETTINGS,
        rng=rng,
    )
    assert quiet["interval"] == 900 and quiet["failures"] == 0 and quiet["polls"] == 5
    assert 1000 + 900 * 0.9 <= quiet["next_poll_at"] <= 1000 + 900 * 1.1
    start = datetime(2026, 12, 1, tzinfo=UTC)
    every_two_minutes = [start + timedelta(minutes=2 * n) for n in range(10)]
    busy = after_success(
        _feed(),
        now=1000,
        outcome=Reason.FEED_NEW_ENTRIES,
        new=3,
        published=every_two_minutes,
        hints=Hints(),
        settings=SETTINGS,
        rng=rng,
    )
    assert busy["interval"] == 0.5 * 600 + 0.5 * 60  # halfway to one poll per half gap
    assert busy["entries"] == 13 and busy["last_new"] == 3
    assert (busy["pace"], busy["last_entry_at"]) == (120, 1000)  # kept for the quiet polls
    # A 304 a minute later reads no dates: the kept pace says an empty poll was expected.
    calm = after_success(
        _feed(interval=busy["interval"], pace=busy["pace"], last_entry_at=1000),
        now=1060,
        outcome=Reason.FEED_UNCHANGED,
        new=0,
        published=[],
        hints=Hints(),
        settings=SETTINGS,
        rng=rng,
    )
    assert calm["interval"] == busy["interval"] and calm["last_entry_at"] == 1000


def test_a_first_listing_taken_as_history_teaches_the_schedule_but_counts_nothing() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    every_two_minutes = [start + timedelta(minutes=2 * n) for n in range(10)]
    arguments: dict[str, Any] = {
        "now": 1000,
        "outcome": Reason.FEED_NO_NEW_ENTRIES,
        "new": 0,
        "published": every_two_minutes,
        "hints": Hints(),
        "settings": SETTINGS,
        "rng": random.Random(1),
    }
    skipped = after_success(_feed(entries=0), skipped=10, **arguments)
    taken = after_success(_feed(entries=0), **(arguments | {"new": 10}))
    assert skipped["interval"] == taken["interval"] < 600  # a busy feed, learned as such
    assert skipped["last_entry_at"] == 1000
    assert (skipped["entries"], skipped["last_new"]) == (0, 0)  # no items were made
    empty = after_success(_feed(entries=0), **arguments)
    assert empty["interval"] > 600  # without them, a first empty poll would slow it down


def test_publisher_hints_and_a_fixed_interval() -> None:
    hinted = after_success(
        _feed(),
        now=0,
        outcome=Reason.FEED_NEW_ENTRIES,
        new=1,
        published=[],
        hints=Hints(ttl=2400),
        settings=SETTINGS,
    )
    assert hinted["interval"] == 2400  # the publisher's floor beats the learned interval
    assert hinted["next_poll_at"] >= 2400
    fixed = after_success(
        _feed(every=120.0),
        now=0,
        outcome=Reason.FEED_NEW_ENTRIES,
        new=1,
        published=[],
        hints=Hints(),
        settings=SETTINGS,
    )
    assert fixed["interval"] == 120


def test_failures_back_off_then_disable_with_the_reason() -> None:
    rng = random.Random(2)
    first = after_failure(
        _feed(),
        now=0,
        reason=Reason.TIMEOUT,
        detail="slow",
        retry_after=None,
        settings=SETTINGS,
        rng=rng,
    )
    assert first["failures"] == 1 and "state" not in first
    assert 540 <= first["next_poll_at"] <= 660
    second = after_failure(
        _feed(failures=1),
        now=0,
        reason=Reason.http(503),
        detail="busy",
        retry_after=500,
        settings=SETTINGS,
        rng=rng,
    )
    assert second["next_poll_at"] >= 500  # Retry-After honoured, jitter or not
    third = after_failure(
        _feed(failures=2),
        now=0,
        reason=Reason.DNS_ERROR,
        detail="no such host",
        retry_after=None,
        settings=SETTINGS,
        rng=rng,
    )
    assert (third["state"], third["reason"]) == ("disabled", "dns_error")
    assert third["detail"].startswith("3 failed polls in a row")


HOSTILE = Settings(
    feed_min_interval=60,
    feed_max_interval=3600,
    feed_disable_after=3,
    feed_interval=600,
    fetch_retry_after_max=900,
)


def test_a_huge_retry_after_is_capped_like_a_page_s() -> None:
    """Retry-After: 999999999 (or a date in the year 9999) waits SLUICE_FETCH_RETRY_AFTER_MAX
    at most, and never parks a feed past SLUICE_FEED_MAX_INTERVAL."""
    for failures in (0, 5):
        failed = after_failure(
            _feed(failures=failures),
            now=1000,
            reason=Reason.http(429),
            detail="slow down",
            retry_after=999_999_999,
            settings=HOSTILE,
            rng=random.Random(3),
        )
        assert 1000 + 900 <= failed["next_poll_at"] <= 1000 + 3600
    tiny = Settings(feed_min_interval=60, feed_max_interval=300, fetch_retry_after_max=900)
    capped = after_failure(
        _feed(),
        now=0,
        reason=Reason.http(503),
        detail="busy",
        retry_after=999_999_999,
        settings=tiny,
        rng=random.Random(4),
    )
    assert capped["next_poll_at"] <= 300


def test_no_publisher_hint_parks_a_feed_past_the_longest_interval() -> None:
    hostile = Hints(ttl=10**12, update_period=10**12, max_age=10**12, retry_after=10**12)
    for new in (0, 1):
        polled = after_success(
            _feed(),
            now=1000,
            outcome=Reason.FEED_NEW_ENTRIES if new else Reason.FEED_NO_NEW_ENTRIES,
            new=new,
            published=[],
            hints=hostile,
            settings=HOSTILE,
            rng=random.Random(5),
        )
        assert polled["interval"] <= 3600
        assert 1000 < polled["next_poll_at"] <= 1000 + 3600
    fixed = after_success(
        _feed(every=7200.0),
        now=0,
        outcome=Reason.FEED_NO_NEW_ENTRIES,
        new=0,
        published=[],
        hints=hostile,
        settings=HOSTILE,
        rng=random.Random(6),
    )
    assert fixed["next_poll_at"] <= 7200  # an operator's --every longer than the cap holds
