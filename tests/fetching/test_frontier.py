"""The crawl frontier in real Redis: per-host queues, release by due time, leases that a
dead worker gives back, and the host budget's gate deciding when a host is due."""

from __future__ import annotations

import time

import redis

from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.politeness import HostBudget

LEASE_MS = 60_000


def _add(frontier: Frontier, host: str, names: list[str], priority: int = 0) -> int:
    return frontier.add([(name, f"http://{host}/{name}", {"n": name}, priority) for name in names])


def _drain_turns(frontier: Frontier, rounds: int) -> list[str]:
    """Release and finish at once, ``rounds`` times; the items in the order they went."""
    order: list[str] = []
    for _ in range(rounds):
        leases, _ = frontier.release(0, LEASE_MS, 100)
        for lease in leases:
            order.append(lease.item)
            assert frontier.finish(lease.item, lease.token)
    return order


def test_first_in_first_out_within_a_host_and_priority_first(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    assert _add(frontier, "a.test", ["a1", "a2", "a3"]) == 3
    assert _add(frontier, "a.test", ["fresh"], priority=5) == 1
    assert _add(frontier, "a.test", ["a1"]) == 0  # already waiting: added once
    assert frontier.waiting_items("a.test") == ["fresh", "a1", "a2", "a3"]
    assert _drain_turns(frontier, 5) == ["fresh", "a1", "a2", "a3"]
    assert frontier.size() == 0


def test_one_item_per_host_in_flight_and_hosts_in_turn(redis_client: redis.Redis) -> None:
    """A host with many URLs never holds back a host with few: each round gives every due
    host one turn."""
    frontier = Frontier(redis_client)
    _add(frontier, "big.test", [f"b{n}" for n in range(50)])
    _add(frontier, "small.test", ["s1", "s2"])
    leases, _ = frontier.release(0, LEASE_MS, 100)
    assert sorted(lease.item for lease in leases) == ["b0", "s1"]
    assert frontier.release(0, LEASE_MS, 100)[0] == []  # both hosts busy
    for lease in leases:
        frontier.finish(lease.item, lease.token)
    assert sorted(lease.item for lease in frontier.release(0, LEASE_MS, 100)[0]) == ["b1", "s2"]


def test_a_host_is_due_when_its_budget_gate_opens(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    budget = HostBudget(redis_client, rate=4.0)  # 250 ms
    _add(frontier, "gated.test", ["g1", "g2"])
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    assert budget.start("gated.test") == 0.0
    budget.finished("gated.test")  # the request ended: next one 250 ms from now
    frontier.finish(lease.item, lease.token)
    leases, wait = frontier.release(0, LEASE_MS, 10)
    assert leases == [] and 0.2 <= wait <= 0.25  # the pump knows how long to sleep
    stats = frontier.stats()
    assert (stats.items, stats.hosts, stats.due_now, stats.in_flight) == (1, 1, 0, 0)
    assert stats.top_hosts == [("gated.test", 1)]
    # With a lookahead, it is released a little before the gate, and told how early.
    (early,), _ = frontier.release(300, LEASE_MS, 10)
    assert early.item == "g2" and 150 <= early.gate_ms <= 250


def test_a_lease_not_finished_in_time_goes_back_to_its_place(redis_client: redis.Redis) -> None:
    """A killed worker's item returns after the lease, first in its host's line; the dead
    worker's message, redelivered later, is recognised as stale and changes nothing."""
    frontier = Frontier(redis_client)
    _add(frontier, "k.test", ["k1", "k2"])
    (lease,), _ = frontier.release(0, 300, 10)
    assert frontier.begin(lease.item, lease.token, 300)
    time.sleep(0.35)
    (again,), _ = frontier.release(0, LEASE_MS, 10)
    assert again.item == "k1" and again.token != lease.token
    assert not frontier.begin(lease.item, lease.token, LEASE_MS)  # the old delivery
    assert not frontier.finish(lease.item, lease.token)
    assert frontier.begin(again.item, again.token, LEASE_MS)
    assert frontier.finish(again.item, again.token)
    assert _drain_turns(frontier, 2) == ["k2"]


def test_back_in_line_after_a_redirect_to_another_host(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "old.test", ["r1", "o2"])
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    moved = {"n": "r1", "hop": 1}
    assert frontier.finish(lease.item, lease.token, again=moved, url="http://new.test/x")
    assert frontier.waiting_items("new.test") == ["r1"]
    released = {x.item: x for x in frontier.release(0, LEASE_MS, 10)[0]}
    assert set(released) == {"r1", "o2"}  # both hosts free: each gets its turn
    assert released["r1"].payload == moved


def test_a_delayed_item_waits_then_keeps_its_place(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "d.test", ["d1", "d2"])
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    frontier.finish(lease.item, lease.token, again={"n": "d1"}, url="http://d.test/", delay=0.3)
    (other,), _ = frontier.release(0, LEASE_MS, 10)
    assert other.item == "d2"  # the host is not held while d1 waits to retry
    frontier.finish(other.item, other.token)
    assert frontier.release(0, LEASE_MS, 10)[0] == []
    assert frontier.stats().delayed == 1
    time.sleep(0.32)
    assert [x.item for x in frontier.release(0, LEASE_MS, 10)[0]] == ["d1"]


def test_freeing_the_host_keeps_the_item_until_it_is_handed_on(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "f.test", ["f1", "f2"])
    (lease,), _ = frontier.release(0, 300, 10)
    frontier.finish(lease.item, lease.token, free_only=True)
    (second,), _ = frontier.release(0, LEASE_MS, 10)
    assert second.item == "f2"  # the host's next URL goes while f1 is handed on
    assert frontier.size() == 2
    assert frontier.finish(lease.item, lease.token)
    assert frontier.size() == 1


def test_release_is_bounded_by_room(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    for n in range(20):
        _add(frontier, f"h{n}.test", [f"x{n}"])
    leases, _ = frontier.release(0, LEASE_MS, 5)
    assert len(leases) == 5
    assert frontier.stats().due_now == 15


def test_the_end_of_a_request_ends_the_hosts_turn(redis_client: redis.Redis) -> None:
    """A fetch worker's budget frees the host in the same script that closes the request,
    so the next URL is due at the gate without waiting for the page to be stored; the
    item's lease stays until it is handed on."""
    frontier = Frontier(redis_client)
    budget = HostBudget(redis_client, rate=10.0, ends_turns=True)  # 100 ms
    _add(frontier, "t.test", ["t1", "t2"])
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    assert budget.start("t.test") == 0.0
    budget.finished("t.test")
    leases, wait = frontier.release(0, LEASE_MS, 10)
    assert leases == [] and 0.05 <= wait <= 0.1  # due at the gate
    assert frontier.stats().in_flight == 1  # t1 is still being handed on
    time.sleep(wait + 0.005)
    assert [x.item for x in frontier.release(0, LEASE_MS, 10)[0]] == ["t2"]
    assert frontier.finish(lease.item, lease.token)
    # The producer's budget (feeds and sitemaps) holds no turn and frees none.
    HostBudget(redis_client, rate=10.0).finished("t.test")
    assert frontier.stats().in_flight == 1
