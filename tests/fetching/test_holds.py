"""A producer's hold of a host's turn in the real frontier: taken only when nothing is in
flight there, keeping the pumps from releasing the host's items until it ends, ended by
the request's end or the hold's own, given back when a dead producer lets it lapse, and
kept by a remote archive's download for as long as it streams."""

from __future__ import annotations

import threading
import time

import redis

from sluice.producers.turn_fetcher import TurnFetcher
from sluice.producers.warc_remote import RemoteArchive
from sluice.shared.settings import Settings
from sluice.workers.fetching.client import Fetcher
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.holds import HostHold
from sluice.workers.fetching.politeness import HostBudget
from tests.fetching.conftest import MakeServer
from tests.support.web import Response

LEASE_MS = 60_000


def _add(frontier: Frontier, host: str, name: str) -> None:
    frontier.add([(name, f"http://{host}/{name}", {"n": name}, 0)])


def test_a_held_host_releases_no_item_until_the_hold_ends(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "held.test", "a")
    assert frontier.hold("held.test", "p1", LEASE_MS)
    assert frontier.release(0, LEASE_MS, 10)[0] == []
    frontier.let_go("held.test", "p1")
    leases, _ = frontier.release(0, LEASE_MS, 10)
    assert [lease.item for lease in leases] == ["a"]


def test_a_host_with_an_item_in_flight_cannot_be_held(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "busy.test", "a")
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    assert not frontier.hold("busy.test", "p1", LEASE_MS)
    assert frontier.finish(lease.item, lease.token)
    assert frontier.hold("busy.test", "p1", LEASE_MS)


def test_one_holder_at_a_time_and_the_same_token_renews(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    assert frontier.hold("one.test", "p1", LEASE_MS)
    assert frontier.hold("one.test", "p1", LEASE_MS)  # renewed
    assert not frontier.hold("one.test", "p2", LEASE_MS)
    frontier.let_go("one.test", "p2")  # not p2's: changes nothing
    assert not frontier.hold("one.test", "p2", LEASE_MS)
    frontier.let_go("one.test", "p1")
    assert frontier.hold("one.test", "p2", LEASE_MS)


def test_the_end_of_the_request_frees_the_host_and_letting_go_later_is_harmless(
    redis_client: redis.Redis,
) -> None:
    frontier = Frontier(redis_client)
    budget = HostBudget(redis_client, 1000.0, ends_turns=True)
    _add(frontier, "ends.test", "a")
    assert frontier.hold("ends.test", "p1", LEASE_MS)
    assert budget.start("ends.test") == 0.0
    budget.finished("ends.test")  # a Crawler's request ends the turn it ran on
    time.sleep(0.01)
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    frontier.let_go("ends.test", "p1")  # the worker's turn now: not ended by the producer
    assert not frontier.hold("ends.test", "p2", LEASE_MS)
    assert frontier.finish(lease.item, lease.token)


def test_a_lapsed_hold_is_reclaimed_by_the_next_release(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "dead.test", "a")
    assert frontier.hold("dead.test", "gone", 100)
    assert frontier.release(0, LEASE_MS, 10)[0] == []
    time.sleep(0.15)
    leases, _ = frontier.release(0, LEASE_MS, 10)
    assert [lease.item for lease in leases] == ["a"]
    assert frontier.stats().in_flight == 1  # holds are not counted as items in flight


def test_a_waiting_producer_takes_the_turn_when_the_worker_ends_it(
    redis_client: redis.Redis,
) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "wait.test", "a")
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    taken: list[float] = []
    hold = HostHold(frontier, "wait.test", 60.0)

    def produce() -> None:
        hold.take()
        taken.append(time.monotonic())

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(0.3)
    assert taken == []  # the worker's item is in flight
    ended = time.monotonic()
    assert frontier.finish(lease.item, lease.token)
    thread.join(5)
    assert taken and taken[0] - ended < 0.5
    hold.let_go()
    assert frontier.hold("wait.test", "next", LEASE_MS)


def test_a_refused_producer_goes_before_the_hosts_next_item(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "queue.test", "a")
    _add(frontier, "queue.test", "b")
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    assert not frontier.hold("queue.test", "p1", LEASE_MS)  # refused: now it is wanted
    assert frontier.finish(lease.item, lease.token)
    assert frontier.release(0, LEASE_MS, 10)[0] == []  # "b" waits for the producer
    assert frontier.hold("queue.test", "p1", LEASE_MS)
    frontier.let_go("queue.test", "p1")
    leases, _ = frontier.release(0, LEASE_MS, 10)
    assert [lease.item for lease in leases] == ["b"]


def test_a_want_that_lapses_holds_nothing_up(redis_client: redis.Redis) -> None:
    frontier = Frontier(redis_client)
    _add(frontier, "gone.test", "a")
    _add(frontier, "gone.test", "b")
    (lease,), _ = frontier.release(0, LEASE_MS, 10)
    assert not frontier.hold("gone.test", "p1", LEASE_MS)  # and the producer goes away
    assert frontier.finish(lease.item, lease.token)
    leases, wait = frontier.release(0, LEASE_MS, 10)
    assert leases == [] and 0 < wait <= 1.0
    time.sleep(wait + 0.05)
    leases, _ = frontier.release(0, LEASE_MS, 10)
    assert [lease.item for lease in leases] == ["b"]


def test_a_remote_archive_holds_its_hosts_turn_until_its_stream_is_closed(
    redis_client: redis.Redis, make_server: MakeServer, prefix: str
) -> None:
    server = make_server("127.0.0.2")
    target = server.route(f"{prefix}/crawl.warc", Response(body=b"x" * 300_000, content_type=""))
    moved = server.route(f"{prefix}/old.warc", Response(302, b"", headers={"Location": target}))
    settings = Settings(fetch_allow_networks="127.0.0.2/32", fetch_host_rate=100.0)
    fetcher = TurnFetcher(Fetcher(settings), redis_client, settings)
    frontier = Frontier(redis_client)
    try:
        archive = RemoteArchive(fetcher, moved, 1 << 20)
        stream = archive.open_at(0)
        assert stream.read(10) == b"x" * 10
        assert not frontier.hold("127.0.0.2", "other", LEASE_MS)  # the download is in flight
        stream.close()
        assert frontier.hold("127.0.0.2", "other", LEASE_MS)
        assert archive.size == 300_000
        assert server.hits == [f"{prefix}/old.warc", f"{prefix}/crawl.warc"]
    finally:
        fetcher.close()
