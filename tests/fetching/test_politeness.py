"""The per-host budget in real Redis: one gate for every worker, the gap counted from when a
request's answer began, slowing down on 429/503 and recovering afterwards."""

from __future__ import annotations

import itertools
import multiprocessing
import random
import time

import redis

from sluice.workers.fetching.politeness import HostBudget


def _budget(client: redis.Redis, rate: float = 4.0, **kw) -> HostBudget:  # type: ignore[no-untyped-def]
    return HostBudget(client, rate, **kw)


def test_one_request_per_interval(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=4.0)  # 250 ms apart
    started = time.monotonic()
    assert budget.start("news.test") == 0.0
    waits = [budget.start("news.test") for _ in range(3)]
    asked = time.monotonic() - started  # a loaded machine may take a while to ask three times
    # The gate stays shut for the rest of the interval, however often it is asked.
    assert all(0.25 - asked - 0.01 <= wait <= 0.25 for wait in waits), (waits, asked)
    assert waits == sorted(waits, reverse=True)
    # Other hosts are not affected.
    assert budget.start("other.test") == 0.0
    time.sleep(waits[-1] + 0.005)
    assert budget.start("news.test") == 0.0


def _hammer(url: str, host: str, ready, go, seconds: float, queue) -> None:  # type: ignore[no-untyped-def]
    """A fetch worker's loop: ask, and when the gate is shut, come back when told (plus a
    few ms of scheduling noise, as real workers have: without it, the process told first
    would be back first every time and win every turn)."""
    budget = HostBudget(redis.Redis.from_url(url), rate=10.0)
    budget.client.ping()
    sent: list[float] = []
    ready.put(True)
    go.wait(60)
    until = time.time() + seconds
    while time.time() < until:
        wait = budget.start(host)
        if wait:
            time.sleep(wait + random.uniform(0, 0.005))
            continue
        sent.append(time.time())  # the request starts...
        budget.finished(host)  # ...and has ended
    queue.put(sent)


def test_the_budget_holds_across_processes(redis_client: redis.Redis, redis_url: str) -> None:
    """Four processes asking for one host as fast as they are allowed: 10 requests a second,
    and never two closer than the interval."""
    ctx = multiprocessing.get_context("spawn")
    queue, ready = ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    workers = [
        ctx.Process(target=_hammer, args=(redis_url, "shared.test", ready, go, 3.0, queue))
        for _ in range(4)
    ]
    for process in workers:
        process.start()
    for _ in workers:  # all four started and connected (a loaded machine spawns slowly)
        ready.get(timeout=60)
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
    assert budget.start("slow.test", crawl_delay=2.0) == 0.0
    assert 1.9 <= budget.start("slow.test", crawl_delay=2.0) <= 2.0
    assert budget.interval(2.0) == 2000
    assert budget.interval(0.0) == 100


def test_429_pauses_the_host_for_retry_after(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=10.0)
    assert budget.start("busy.test") == 0.0
    pause = budget.slow_down("busy.test", retry_after=3.0)
    assert 2.9 <= pause <= 3.0
    assert 2.9 <= budget.start("busy.test") <= 3.0
    assert budget.start("calm.test") == 0.0


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
    assert budget.start("flaky.test") == 0.0
    assert budget.start("flaky.test") > 0.9
    # Normal answers narrow it a quarter at a time, back to the plain interval.
    left = [budget.finished("flaky.test") for _ in range(8)]
    assert left[0] == 0.75
    assert left[-1] == 0.0
    assert budget.slowdown("flaky.test") == 0.0


def test_rate_zero_means_no_limit_of_our_own(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=0.0)
    assert all(budget.start("free.test") == 0.0 for _ in range(20))
    budget.slow_down("free.test", retry_after=1.0)  # but a server's 429 is still honoured
    assert budget.start("free.test") > 0.9


def test_the_rate_counts_from_the_start(redis_client: redis.Redis) -> None:
    """At the plain rate a request that took part of the interval costs nothing more: the
    next starts one interval after this one started."""
    budget = _budget(redis_client, rate=5.0)  # 200 ms
    assert budget.start("quick.test") == 0.0
    started = time.monotonic()
    time.sleep(0.05)  # answered after 50 ms
    budget.finished("quick.test", answered=time.monotonic())
    wait = budget.start("quick.test")
    elapsed = time.monotonic() - started
    assert 0.2 - elapsed - 0.01 <= wait <= 0.2 - 0.05 + 0.002, (wait, elapsed)


def test_a_request_sent_late_moves_the_gate_with_it(redis_client: redis.Redis) -> None:
    """A thread that woke late sent its request late: the next gap counts from the sending,
    so two requests never go out closer than one interval."""
    budget = _budget(redis_client, rate=5.0)  # 200 ms
    assert budget.start("woke-late.test") == 0.0
    time.sleep(0.05)
    sent = time.monotonic()  # 50 ms after its booked start
    budget.finished("woke-late.test", answered=time.monotonic(), sent=sent)
    wait = budget.start("woke-late.test")
    elapsed = time.monotonic() - sent
    assert 0.2 - elapsed - 0.002 <= wait <= 0.2 - elapsed + 0.002, (wait, elapsed)


def test_a_crawl_delay_counts_from_when_the_answer_began(redis_client: redis.Redis) -> None:
    """Under a robots.txt Crawl-delay the server had the request by the time it answered:
    the next may start one delay after that, however long the request took to get there or
    its body to read; with no answer (an error), one delay after the end."""
    budget = _budget(redis_client, rate=10.0)  # 100 ms, but the site asks for 200 ms
    assert budget.start("late.test", crawl_delay=0.2) == 0.0
    time.sleep(0.1)  # the request takes 100 ms to be answered...
    answered = time.monotonic()
    time.sleep(0.05)  # ...and 50 ms more to read
    budget.finished("late.test", crawl_delay=0.2, answered=answered)
    wait = budget.start("late.test", crawl_delay=0.2)
    assert 0.13 <= wait <= 0.15  # 200 ms after the answer began, 300 ms after the start
    time.sleep(wait + 0.005)
    assert budget.start("late.test", crawl_delay=0.2) == 0.0
    time.sleep(0.05)
    budget.finished("late.test", crawl_delay=0.2)  # a timeout: no answer
    assert 0.19 <= budget.start("late.test", crawl_delay=0.2) <= 0.2


def test_a_slowdown_counts_from_when_the_answer_began(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=10.0)  # 100 ms
    budget.slow_down("slowed.test")  # a 429: the interval widens to 200 ms
    redis_client.hset(f"{budget.prefix}polite:slowed.test", "next", 0)  # its pause is over
    assert budget.start("slowed.test") == 0.0
    time.sleep(0.1)
    budget.finished("slowed.test", answered=time.monotonic())  # narrowed to 150 ms
    assert 0.14 <= budget.start("slowed.test") <= 0.15


def test_429_does_not_narrow_the_slowdown(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=5.0)
    budget.slow_down("late.test")
    assert budget.finished("late.test", normal=False) == 0.4
    assert budget.finished("late.test") == 0.3


def test_a_gate_opening_soon_is_booked_and_waited_for_once(redis_client: redis.Redis) -> None:
    budget = _budget(redis_client, rate=5.0)  # 200 ms
    assert budget.book("soon.test") == (True, 0.0)
    booked, wait = budget.book("soon.test", hold=0.1)
    assert not booked and 0.19 <= wait <= 0.2  # too far away to book
    time.sleep(0.12)
    booked, wait = budget.book("soon.test", hold=0.1)
    assert booked and 0.07 <= wait <= 0.08  # booked: the gate is this caller's...
    booked, later = budget.book("soon.test", hold=0.1)
    assert not booked and 0.26 <= later <= 0.28  # ...and the next one is an interval on


def test_a_host_with_no_answer_backs_off_doubling_until_it_answers(
    redis_client: redis.Redis,
) -> None:
    budget = _budget(redis_client, rate=10.0, backoff=1.0, backoff_max=3.0)
    budget.finished("flaky.test")
    assert budget.answers("flaky.test")
    pauses = [budget.failed("flaky.test") for _ in range(4)]
    assert pauses == [1.0, 2.0, 3.0, 3.0]  # doubled each failure in a row, capped
    assert not budget.answers("flaky.test")  # the pump probes it before its next URL
    assert 2.5 < budget.start("flaky.test") <= 3.0  # the gate is shut for the back-off
    key = "sluice:polite:flaky.test"
    assert redis_client.hget(key, "why") == b"back-off"
    budget.finished("flaky.test")  # an answer ends the run of failures
    assert budget.answers("flaky.test") and not redis_client.hexists(key, "fails")
    assert budget.failed("flaky.test") == 1.0
