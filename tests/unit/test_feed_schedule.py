"""workers.feeds.schedule: a feed's poll interval follows how often its entries appear."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from sluice.workers.feeds.schedule import (
    Hints,
    first_poll_offset,
    hints_from,
    jittered,
    next_interval,
    publisher_floor,
)

MINUTE = 60.0
LIMITS = {"minimum": 5 * MINUTE, "maximum": 24 * 60 * MINUTE}


def _every(minutes: float, count: int = 10) -> list[datetime]:
    start = datetime(2026, 12, 1, 12, tzinfo=UTC)
    return [start - timedelta(minutes=minutes * n) for n in range(count)]


def test_a_quiet_feed_is_polled_less_often_up_to_the_maximum() -> None:
    interval = 30 * MINUTE
    seen = []
    for _ in range(20):
        interval = next_interval(interval, 0, [], Hints(), **LIMITS)
        seen.append(interval)
    assert seen == sorted(seen)
    assert seen[0] == 45 * MINUTE
    assert seen[-1] == LIMITS["maximum"]


def test_a_busy_feed_converges_on_two_polls_per_gap_between_entries() -> None:
    interval = 4 * 60 * MINUTE
    for _ in range(12):
        interval = next_interval(interval, 3, _every(20), Hints(), **LIMITS)
    assert interval == pytest.approx(10 * MINUTE, rel=0.01)


def test_never_under_the_minimum_even_for_a_feed_publishing_every_minute() -> None:
    interval = next_interval(6 * MINUTE, 5, _every(1), Hints(), **LIMITS)
    assert interval == LIMITS["minimum"]


def test_new_entries_without_dates_still_shorten_the_interval() -> None:
    assert next_interval(60 * MINUTE, 2, [], Hints(), **LIMITS) < 60 * MINUTE


@pytest.mark.parametrize(
    ("hints", "floor"),
    [
        (Hints(ttl=2 * 3600), 2 * 3600),
        (Hints(update_period=3 * 3600), 3 * 3600),
        (Hints(max_age=90 * MINUTE), 90 * MINUTE),
        (Hints(retry_after=4 * 3600), 4 * 3600),
    ],
)
def test_the_publishers_hints_are_floors(hints: Hints, floor: float) -> None:
    assert next_interval(10 * MINUTE, 9, _every(1), hints, **LIMITS) == floor


def test_a_floor_above_the_maximum_wins() -> None:
    """A feed asking for a week between polls gets it, even past SLUICE_FEED_MAX_INTERVAL."""
    week = 7 * 86400.0
    assert next_interval(MINUTE, 0, [], Hints(ttl=week), **LIMITS) == week


def test_hints_from_a_channel_and_its_answer() -> None:
    channel = {"ttl": "120", "sy_updateperiod": "daily", "sy_updatefrequency": "4"}
    headers = {"cache-control": "public, max-age=900", "retry-after": "30"}
    hints = hints_from(channel, headers)
    assert hints == Hints(ttl=7200, update_period=21600, max_age=900, retry_after=30)
    assert publisher_floor(hints) == 21600
    assert hints_from({"ttl": "soon"}, {"cache-control": "no-cache"}) == Hints()


def test_first_polls_of_a_big_list_spread_over_one_interval() -> None:
    interval = 30 * MINUTE
    offsets = [first_poll_offset(f"http://127.0.0.2/feed/{n}.xml", interval) for n in range(5000)]
    assert all(0 <= offset < interval for offset in offsets)
    per_minute = [0] * 30
    for offset in offsets:
        per_minute[int(offset // MINUTE)] += 1
    assert max(per_minute) < 2 * 5000 / 30  # no minute gets twice its share
    assert first_poll_offset("http://127.0.0.2/a", interval) == first_poll_offset(
        "http://127.0.0.2/a", interval
    )


def test_jitter_stays_within_ten_percent() -> None:
    rng = random.Random(7)
    values = [jittered(600.0, rng) for _ in range(1000)]
    assert 540 <= min(values) < 560 and 640 < max(values) <= 660


def test_an_empty_poll_its_pace_expected_does_not_slow_a_feed_down() -> None:
    """An hourly feed polled every half hour finds nothing at every other poll: its interval
    stays at half its pace; only a feed quiet for over two gaps is polled less."""
    hourly = 60 * MINUTE
    interval = 30 * MINUTE
    for quiet_for in (30 * MINUTE, 90 * MINUTE):
        after = next_interval(interval, 0, [], Hints(), **LIMITS, pace=hourly, quiet_for=quiet_for)
        assert after == interval
    assert next_interval(interval, 0, [], Hints(), **LIMITS, pace=hourly, quiet_for=3 * hourly) == (
        45 * MINUTE
    )
    # A feed polled faster than its pace asks may still widen, up to half its pace.
    assert next_interval(
        10 * MINUTE, 0, [], Hints(), **LIMITS, pace=hourly, quiet_for=20 * MINUTE
    ) == pytest.approx(15 * MINUTE)
