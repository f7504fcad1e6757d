"""Node-name leases on a real Redis: a live holder keeps its name, an ended holder of this
machine gives it up at once, a holder on another machine only when its lease expires."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import redis

from sluice.shared.lease_holders import holder_token, this_machine
from sluice.workers.membership.node_lease import NameKeeper, NodeNameLease

NAME = "fetch@m1"
KEY = f"sluice:node:{NAME}"


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])


def test_a_live_holder_of_this_machine_keeps_its_name(redis_client: redis.Redis) -> None:
    sleeper = _sleeper()
    try:
        other = NodeNameLease(redis_client, NAME, ttl=30, token=holder_token(sleeper.pid))
        assert other.take() is None
        mine = NodeNameLease(redis_client, NAME, ttl=30)
        assert mine.take() == other.token
        assert mine.holder() == other.token
        assert redis_client.get(KEY) == other.token.encode()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_ended_holder_of_this_machine_is_taken_over_at_once(
    redis_client: redis.Redis,
) -> None:
    sleeper = _sleeper()
    dead = NodeNameLease(redis_client, NAME, ttl=30, token=holder_token(sleeper.pid))
    assert dead.take() is None
    sleeper.kill()
    sleeper.wait()

    mine = NodeNameLease(redis_client, NAME, ttl=30)
    assert mine.holder() is None
    assert mine.take() is None
    assert redis_client.get(KEY) == mine.token.encode()
    assert 29_000 < redis_client.pttl(KEY) <= 30_000


def test_a_reused_process_id_does_not_keep_an_ended_holders_name(
    redis_client: redis.Redis,
) -> None:
    """The token names a live process id whose process started at another time."""
    reused = f"{this_machine()}:{os.getpid()}:1"
    NodeNameLease(redis_client, NAME, ttl=30, token=reused).take()
    assert NodeNameLease(redis_client, NAME, ttl=30).take() is None


def test_a_holder_on_another_machine_frees_the_name_only_when_its_lease_expires(
    redis_client: redis.Redis,
) -> None:
    elsewhere = "m2/0b1c/4026531836:1:100"  # its pid 1 is not ours to look up
    assert NodeNameLease(redis_client, NAME, ttl=1.5, token=elsewhere).take() is None
    mine = NodeNameLease(redis_client, NAME, ttl=30)
    assert mine.take() == elsewhere
    deadline = time.monotonic() + 10
    while redis_client.exists(KEY) and time.monotonic() < deadline:
        assert mine.take() == elsewhere
        time.sleep(0.1)
    assert mine.take() is None
    assert redis_client.get(KEY) == mine.token.encode()


def test_renew_keeps_ones_own_lease_retakes_a_lapsed_one_and_leaves_anothers(
    redis_client: redis.Redis,
) -> None:
    mine = NodeNameLease(redis_client, NAME, ttl=30)
    assert mine.take() is None
    redis_client.pexpire(KEY, 500)
    assert mine.renew()
    assert redis_client.pttl(KEY) > 29_000

    redis_client.delete(KEY)  # lapsed while Redis was away
    assert mine.renew()
    assert redis_client.get(KEY) == mine.token.encode()

    redis_client.set(KEY, "m2/x/y:7:7")  # another took it meanwhile
    assert not mine.renew()
    mine.release()  # not ours: left alone
    assert redis_client.get(KEY) == b"m2/x/y:7:7"


def test_the_keeper_renews_until_it_releases(redis_client: redis.Redis) -> None:
    lease = NodeNameLease(redis_client, NAME, ttl=0.6)
    assert lease.take() is None
    keeper = NameKeeper(lease)
    keeper.start()
    try:
        time.sleep(2.0)  # more than three times the time to live
        assert redis_client.get(KEY) == lease.token.encode()
    finally:
        keeper.release()
    keeper.join(timeout=5)
    assert not keeper.is_alive()
    assert not redis_client.exists(KEY)
