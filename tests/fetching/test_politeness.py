"""The per-host budget in real Redis: one gate for every worker, reservations instead of
sleeping, slowing down on 429/503 and recovering afterwards."""

from __future__ import annotations

import itertools
import multiprocessing
import time

import redis

from workers.fetching.politeness import HostBudget


def _budget(client: redis.Redis, rate: float = 4.0, **kw) -> HostBudget:  # type: ignore[no-untyped-def]
    return HostBudget(client, rate, **kw)


def test_one_request_per_interval_and_the_rest_reserve_slots(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=4.0)  # 250 ms apart
    first = budget.acquire("news.test", "j:0")
    waits = [budget.acquire("news.test", f"j:{n}") for n in range(1, 5)]

    assert first.go and first.wait == 0
    assert not any(d.go for d in waits)
    # Each waiting item got its own slot, one interval after the previous one.
    slots = [d.wait for d in waits]
    for earlier, later in itertools.pairwise(slots):
        assert 0.24 <= later - earlier <= 0.26
    assert 0.2 <= slots[0] <= 0.25
    # Other hosts are not affected.
    assert budget.acquire("other.test", "j:9").go


def test_a_deferred_item_goes_at_its_slot_and_not_before(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=5.0)  # 200 ms apart
    assert budget.acquire("h.test", "a").go
    reserved = budget.acquire("h.test", "b")
    assert not reserved.go
    early = budget.acquire("h.test", "b")  # came back too soon: still waits for its slot
    assert not early.go and early.wait <= reserved.wait
    # A newcomer queues behind the reservation instead of taking the gate.
    time.sleep(reserved.wait + 0.01)
    newcomer = budget.acquire("h.test", "c")
    assert not newcomer.go
    assert budget.acquire("h.test", "b").go
    assert newcomer.wait > 0.15


def _hammer(url: str, host: str, worker: int, go, seconds: float, queue) -> None:  # type: ignore[no-untyped-def]
    """A fetch worker's loop: ask, and when deferred, come back when told (never spin)."""
    budget = HostBudget(redis.Redis.from_url(url), rate=10.0)
    sent: list[float] = []
    go.wait(60)
    until = time.time() + seconds
    item = 0
    while time.time() < until:
        holder = f"w{worker}:{item}"
        decision = budget.acquire(host, holder)
        while not decision.go and time.time() < until:
            time.sleep(decision.wait + 0.002)
            decision = budget.acquire(host, holder)
        if decision.go:
            sent.append(time.time())  # the request starts...
            budget.finished(host)  # ...and has ended
            item += 1
    queue.put(sent)


def test_the_budget_holds_across_processes(redis_client: redis.Redis, redis_url: str) -> None:
    """Four processes asking for one host as fast as they are allowed: 10 requests a second,
    and never two closer than the interval."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    go = ctx.Event()
    workers = [
        ctx.Process(target=_hammer, args=(redis_url, "shared.test", n, go, 3.0, queue))
        for n in range(4)
    ]
    for process in workers:
        process.start()
    time.sleep(0.5)
    go.set()
    per_worker = [queue.get(timeout=60) for _ in workers]
    for process in workers:
        process.join(30)
    times = sorted(t for sent in per_worker for t in sent)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) >= 25  # about 10 a second for 3 s
    assert len(times) <= 10 * (times[-1] - times[0]) + 1
    assert sum(1 for sent in per_worker if sent) >= 2  # shared among the processes
    assert min(gaps) >= 0.095, min(gaps)  # 100 ms; local clocks vs Redis TIME: ms rounding
    per_second = max(sum(1 for t in times if start <= t < start + 1) for start in times)
    assert per_second <= 10


def test_crawl_delay_widens_the_interval(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=10.0)
    assert budget.acquire("slow.test", "a", crawl_delay=2.0).go
    assert 1.9 <= budget.acquire("slow.test", "b", crawl_delay=2.0).wait <= 2.0
    assert budget.interval(2.0) == 2000
    assert budget.interval(0.0) == 100


def test_429_pauses_the_host_for_retry_after_and_shifts_reservations(
    redis_client: redis.Redis,
) -> None:
    budget = _budget(redis_client, rate=10.0)
    assert budget.acquire("busy.test", "a").go
    assert budget.acquire("busy.test", "b").wait <= 0.1  # reserved the next slot
    pause = budget.slow_down("busy.test", retry_after=3.0)
    assert 2.9 <= pause <= 3.0
    # The reservation moved with the gate: "b" is still first in line, when it reopens;
    # a newcomer queues one interval behind it.
    assert 2.9 <= budget.acquire("busy.test", "b").wait <= 3.0
    assert 3.0 <= budget.acquire("busy.test", "c").wait <= 3.1


def test_slowdown_doubles_then_recovers(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=10.0, slowdown_max=1.0)
    budget.slow_down("flaky.test")
    assert budget.slowdown("flaky.test") == 0.2  # twice the 100 ms interval
    budget.slow_down("flaky.test")
    budget.slow_down("flaky.test")
    assert budget.slowdown("flaky.test") == 0.8
    budget.slow_down("flaky.test")
    assert budget.slowdown("flaky.test") == 1.0  # capped
    # The widened interval applies to the gate.
    time.sleep(1.05)
    assert budget.acquire("flaky.test", "a").go
    assert budget.acquire("flaky.test", "b").wait > 0.9
    # Normal answers narrow it a quarter at a time, back to the plain interval.
    left = [budget.finished("flaky.test") for _ in range(8)]
    assert left[0] == 0.75
    assert left[-1] == 0.0
    assert budget.slowdown("flaky.test") == 0.0


def test_rate_zero_means_no_limit_of_our_own(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=0.0)
    assert all(budget.acquire("free.test", f"i{n}").go for n in range(20))
    budget.slow_down("free.test", retry_after=1.0)  # but a server's 429 is still honoured
    assert not budget.acquire("free.test", "x").go


def test_the_next_turn_counts_from_the_end_of_the_request(redis_client: redis.Redis) -> None:
    """A request that took long to reach the server cannot bunch up with the next one."""
    budget = _budget(redis_client, rate=5.0)  # 200 ms
    assert budget.acquire("late.test", "a").go
    assert 0.19 <= budget.acquire("late.test", "b").wait <= 0.2  # "b" reserved 200 ms out
    time.sleep(0.15)  # the request is under way
    budget.finished("late.test")
    time.sleep(0.06)
    # "b" is at its slot, but the gate opens 200 ms after the end of "a": it keeps its place
    # and waits for that, while a newcomer queues behind it.
    due = budget.acquire("late.test", "b")
    assert not due.go and 0.1 <= due.wait <= 0.15
    newcomer = budget.acquire("late.test", "c")
    assert newcomer.wait > due.wait
    time.sleep(due.wait + 0.005)
    assert budget.acquire("late.test", "b").go
    # Slots are now spaced by the interval plus the usual request time (~150 ms).
    budget.finished("late.test")
    first = budget.acquire("late.test", "d").wait
    second = budget.acquire("late.test", "e").wait
    assert 0.3 <= second - first <= 0.4


def test_429_does_not_narrow_the_slowdown(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=5.0)
    budget.slow_down("late.test")
    assert budget.finished("late.test", normal=False) == 0.4
    assert budget.finished("late.test") == 0.3
