"""The record of what each worker holds, on a real Redis: a silent worker's unacknowledged
messages are given back at the second look, a live worker's never, and acknowledged ones
are forgotten."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from sluice.workers.recovery.held_messages import HeldMessages


@pytest.fixture
def unacked(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """kombu's hash of unacknowledged messages, emptied before and after (the fixture
    empties sluice's own keys before)."""
    redis_client.delete("unacked")
    yield redis_client
    redis_client.delete("unacked")


def test_a_silent_workers_unacknowledged_messages_are_restored_at_the_second_look(
    unacked: redis.Redis,
) -> None:
    dead = HeldMessages(unacked, "cpu@a", dead_after=0.05)
    alive = HeldMessages(unacked, "cpu@b", dead_after=60)
    keeper = HeldMessages(unacked, "fetch@c", dead_after=60)
    for tag in ("t1", "t2", "t3"):
        dead.received(tag)
    alive.received("t4")
    alive.received("t2")  # given back by the visibility timeout and taken again by alive
    unacked.hset("unacked", mapping={"t1": "m1", "t2": "m2", "t4": "m4"})  # t3: acknowledged
    dead.heartbeat()
    alive.heartbeat()
    restored: list[list[str]] = []

    assert keeper.restore_dead(restored.append) == 0  # dead is still beating
    unacked.delete(f"sluice:alive:{dead.incarnation}")  # its heartbeat lapsed
    assert keeper.restore_dead(restored.append) == 0  # silent once: maybe Redis was away
    assert keeper.restore_dead(restored.append) == 1  # silent twice: dead
    assert restored == [["t1"]]
    assert not unacked.exists(dead.held_key)  # forgotten once restored
    assert not unacked.sismember("sluice:incarnations", dead.incarnation)
    assert sorted(unacked.hkeys(alive.held_key)) == [b"t2", b"t4"]  # the live worker's stay
    assert keeper.restore_dead(restored.append) == 0


def test_a_worker_that_beats_again_before_the_second_look_keeps_its_messages(
    unacked: redis.Redis,
) -> None:
    worker = HeldMessages(unacked, "cpu@a", dead_after=60)
    keeper = HeldMessages(unacked, "fetch@c", dead_after=60)
    worker.heartbeat()
    worker.received("t1")
    unacked.hset("unacked", "t1", "m1")
    unacked.delete(f"sluice:alive:{worker.incarnation}")  # as if Redis had been away
    assert keeper.restore_dead(lambda tags: pytest.fail(f"restored {tags}")) == 0  # silent
    worker.heartbeat()
    assert keeper.restore_dead(lambda tags: pytest.fail(f"restored {tags}")) == 0
    assert unacked.hkeys(worker.held_key) == [b"t1"]


def test_acknowledged_messages_are_forgotten_and_a_restart_is_a_new_incarnation(
    unacked: redis.Redis,
) -> None:
    worker = HeldMessages(unacked, "cpu@a", dead_after=60)
    for tag in ("t1", "t2"):
        worker.received(tag)
    unacked.hset("unacked", "t2", "m2")
    assert worker.forget_acknowledged() == 1
    assert unacked.hkeys(worker.held_key) == [b"t2"]
    restarted = HeldMessages(unacked, "cpu@a", dead_after=60)
    assert restarted.incarnation != worker.incarnation
    assert restarted.held_key != worker.held_key
