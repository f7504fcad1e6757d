"""The cluster's clocks on a real Redis and real stores: Redis's ``TIME`` read once and
carried forward, whatever this machine's wall clock says; the store's ``now()``; and the
submission lease on the cluster's clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import redis

from sluice.producers.lease import active_submissions, submission_lease
from sluice.shared.clock import ClusterClock, clock_for, database_now

SKEW = 600.0


class CountingRedis(redis.Redis):
    """A real client that counts its ``TIME`` round trips."""

    times = 0

    def time(self) -> tuple[int, int]:  # type: ignore[override]
        self.times += 1
        return super().time()  # type: ignore[no-any-return]


@pytest.fixture
def counting(redis_url: str) -> CountingRedis:
    return CountingRedis.from_url(redis_url)


def _redis_time(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return seconds + micros / 1e6


def test_the_clock_reads_redis_time_once_and_carries_it_forward(counting: CountingRedis) -> None:
    clock = ClusterClock(counting)
    readings = [clock.now() for _ in range(1000)]
    assert counting.times == 2  # one reading (the shorter of two round trips) for a thousand
    assert readings == sorted(readings)
    assert abs(clock.now() - _redis_time(counting)) < 0.05


def test_a_wall_clock_ten_minutes_off_does_not_move_the_cluster_clock(
    counting: CountingRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ClusterClock(counting)
    clock.now()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - SKEW)  # the machine's clock stepped
    assert abs(clock.now() - _redis_time(counting)) < 0.05
    assert counting.times == 5  # the step was noticed and TIME read again (plus ours)
    # A clock that starts out wrong is never read at all.
    fresh = ClusterClock(counting)
    assert abs(fresh.now() - _redis_time(counting)) < 0.05


def test_the_offset_is_read_again_after_resync_seconds(counting: CountingRedis) -> None:
    clock = ClusterClock(counting, resync=0.2)
    clock.now()
    clock.now()
    assert counting.times == 2
    time.sleep(0.25)
    clock.now()
    assert counting.times == 4


def test_one_clock_per_client(redis_client: redis.Redis, counting: CountingRedis) -> None:
    assert clock_for(redis_client) is clock_for(redis_client)
    assert clock_for(counting) is not clock_for(redis_client)


@pytest.mark.usefixtures("database_url")
def test_the_store_clock_reads_aware_utc_on_both_stores() -> None:
    moment = database_now()
    assert moment.tzinfo is not None
    # The store runs on this machine in the tests, so its clock and ours agree.
    assert abs(moment - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_lease_taken_on_a_clock_ten_minutes_behind_is_live_for_everyone(
    redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lease is scored on Redis's clock: a producer ten minutes behind does not hand
    its job to ``--resume`` as if it had stopped, nor one ahead keep it ten minutes long."""
    real = time.time
    for skew in (-SKEW, SKEW):
        monkeypatch.setattr(time, "time", lambda skew=skew: real() + skew)
        with submission_lease(redis_client, "clock-job") as token:
            monkeypatch.setattr(time, "time", real)
            assert active_submissions(redis_client, "clock-job") == 1
            (score,) = [
                s
                for _, s in redis_client.zrange(
                    "sluice:submitting:clock-job", 0, -1, withscores=True
                )
            ]
            assert abs(score - 30 - _redis_time(redis_client)) < 1.0, token
        assert active_submissions(redis_client, "clock-job") == 0
