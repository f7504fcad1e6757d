"""The reconciler, on a real Redis and a store of its own: an item whose lease expired is
left alone while its message is queued or its holder renews it, and otherwise sent on from
its state in the store (its stranded unacknowledged copy restored, once), whatever the
queues hold."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery.worker import state as worker_state
from kombu import Connection
from sqlalchemy import update

from sluice.shared.article import Article
from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import session_scope
from sluice.shared.db.schema import items
from sluice.shared.item_leases import LEASES, ItemLeases, lease_key
from sluice.shared.jobs import ItemSpec, advance_item, create_job, list_items, new_job_id
from sluice.shared.pages import save_page
from sluice.shared.queues import queue_keys
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.recovery.keeper import held_keys, request_key
from sluice.workers.recovery.reconciler import AFTER_FETCH, Reconciler, resent_count
from sluice.workers.routing import publish
from tests.support.services import fresh_store

LEASE = 0.5  # seconds
BEAT = 0.2  # the reconciler's lock between two looks lasts most of it


@pytest.fixture(params=["sqlite", "postgresql"])
def own_store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A store with this test's items only (the session's holds other tests' leftovers)."""
    admin = None
    if request.param == "postgresql":
        admin = os.environ.get("SLUICE_TEST_DATABASE_URL")
        if not admin:
            pytest.skip("SLUICE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with fresh_store(admin, tmp_path) as url:
        upgrade_database(url)
        monkeypatch.setenv("SLUICE_DATABASE_URL", url)
        get_settings.cache_clear()
        yield url


@pytest.fixture
def client(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """The session's Redis with the queues after fetch and kombu's unacked hash empty."""

    def clear() -> None:
        for stage in AFTER_FETCH:
            redis_client.delete(*queue_keys(stage))
        redis_client.delete("unacked", "unacked_index", LEASES)
        for key in redis_client.scan_iter("sluice:reconciler:*"):
            redis_client.delete(key)

    clear()
    yield redis_client
    clear()


def _job(states: dict[str, tuple[str, str]]) -> str:
    """A job with one item per entry: kind, source and state; every state a minute old."""
    job_id = new_job_id()
    create_job(job_id, [ItemSpec(kind, source) for kind, source in states.values()])
    with session_scope() as conn:
        for item_id, state in enumerate(states):
            conn.execute(
                update(items)
                .where(items.c.job_id == job_id, items.c.item_id == item_id)
                .values(state=state)
            )
    _age(job_id, 60)
    return job_id


def _age(job_id: str, seconds: float) -> None:
    with session_scope() as conn:
        rows = conn.execute(items.select().where(items.c.job_id == job_id)).all()
        for row in rows:
            earlier = row.updated_at.replace(microsecond=0) - timedelta(seconds=seconds)
            conn.execute(
                update(items)
                .where(items.c.job_id == job_id, items.c.item_id == row.item_id)
                .values(updated_at=earlier)
            )


def _states(job_id: str) -> list[tuple[str, str | None]]:
    return [(row["state"], row["reason"]) for row in list_items(job_id)]


def _reconciler(client: redis.Redis) -> tuple[Reconciler, ItemLeases]:
    url = client.connection_pool.connection_kwargs
    broker = f"redis://{url.get('host', '127.0.0.1')}:{url.get('port', 6379)}/{url.get('db', 0)}"

    def restore(tags: list[str]) -> None:
        with Connection(broker) as connection:
            for tag in tags:
                connection.default_channel.qos.restore_by_tag(tag)

    leases = ItemLeases(client, LEASE)
    return Reconciler(client, leases, restore, beat=BEAT), leases


def _looks(reconciler: Reconciler, count: int = 2) -> list[int]:
    """``count`` looks, each once the lock of the one before has lapsed."""
    found = []
    for _ in range(count):
        time.sleep(BEAT + 0.05)
        found.append(reconciler.look())
    return found


def _expire(leases: ItemLeases, job_id: str, *item_ids: int) -> None:
    leases.renew([lease_key(job_id, i) for i in item_ids], length=-1)


@pytest.mark.usefixtures("own_store")
def test_items_with_no_message_anywhere_are_sent_on_at_the_second_look(
    client: redis.Redis,
) -> None:
    job_id = _job(
        {
            State.EXTRACTED: ("url", "http://127.0.0.2:9/lost.html"),
            State.TAGGED: ("text", "a text nobody kept"),
            State.QUEUED: ("url", "http://127.0.0.2:9/waits-in-the-frontier.html"),
        }
    )
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0, 1, 2)
    assert _looks(reconciler) == [0, 2]

    assert _states(job_id) == [
        ("queued", None),  # fetched again: back in the frontier
        ("failed", "lost_in_transit"),  # its text travelled only in the lost message
        ("queued", None),  # a queued URL is the frontier's (its leases), not the reconciler's
    ]
    assert Frontier(client).size() == 1
    assert resent_count(client) == 2  # sluice_lost_items_resent_total
    assert leases.count() == 0  # the frontier holds item 0; items 1 and 2 need no lease


@pytest.mark.usefixtures("own_store")
def test_a_fetched_page_whose_message_was_lost_is_extracted_again_not_fetched_again(
    client: redis.Redis,
) -> None:
    """The fetch recorded the page it kept with the item (a consumer killed as it took the
    extract message loses the message, not the page): the store's page goes to extract."""
    url = "http://127.0.0.2:9/kept.html"
    job_id = _job({State.QUEUED: ("url", url)})
    advance_item(job_id, 0, State.FETCHED, page_id=save_page(b"<html>kept</html>", url))
    _age(job_id, 60)
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0)
    assert _looks(reconciler) == [0, 1]
    assert Frontier(client).size() == 0  # not fetched again
    assert client.llen(queue_keys("extract")[0]) == 1
    assert _states(job_id) == [("fetched", None)]  # still past its fetch, in transit
    assert leases.deadline(lease_key(job_id, 0)) is not None


@pytest.mark.usefixtures("own_store")
def test_a_stale_unacked_copy_of_a_final_item_is_dropped_and_a_live_ones_kept(
    client: redis.Redis,
) -> None:
    """A worker killed after its task handed the item on, before acknowledging it, leaves
    its copy in unacked; once the item is final, that copy is dropped, not redelivered."""
    job_id = _job(
        {
            State.STORED: ("url", "http://127.0.0.2:9/done.html"),
            State.EXTRACTED: ("url", "http://127.0.0.2:9/on-its-way.html"),
        }
    )
    reconciler, leases = _reconciler(client)
    leases.renew([lease_key(job_id, 1)])  # its worker holds it
    for n, tag in enumerate(("stale-tag", "live-tag")):
        publish(
            "dedup",
            Article(job_id, n, url=f"http://x/{n}").to_dict(),
            f"job={job_id} item={n} id=-",
        )
        raw = client.rpop(queue_keys("dedup")[0])
        client.hset("unacked", tag, json.dumps([json.loads(raw), "", "dedup"]))
        client.zadd("unacked_index", {tag: time.time() - 2 * LEASE})
    leases.drop([lease_key(job_id, 0)])  # the stage that stored it dropped its lease
    assert _looks(reconciler, 1) == [0]
    assert client.hkeys("unacked") == [b"live-tag"]
    assert client.zrange("unacked_index", 0, -1) == [b"live-tag"]


@pytest.mark.usefixtures("own_store")
def test_a_queued_message_keeps_its_item_and_a_backlog_does_not_stop_the_reconciler(
    client: redis.Redis,
) -> None:
    """The issue's blind spot: the old sweep concluded nothing while any queue after fetch
    held a message. Here the queues hold a backlog; the one item whose message was taken
    off (as a dying consumer's BRPOP would) is sent on all the same."""
    job_id = new_job_id()
    create_job(job_id, [ItemSpec("url", f"http://127.0.0.2:9/{n}.html") for n in range(7)])
    with session_scope() as conn:
        conn.execute(update(items).where(items.c.job_id == job_id).values(state="fetched"))
    _age(job_id, 60)
    for n in range(7):  # item 6's message will be taken off the queue
        url = f"http://127.0.0.2:9/{n}.html"
        publish("extract", Article(job_id, n, url=url).to_dict(), f"job={job_id} item={n} id=-")
    taken = client.lpop(queue_keys("extract")[0])  # the newest: item 6's
    assert taken is not None and b"item=6 " in taken
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, *range(7))
    before = leases.now_ms()
    assert _looks(reconciler) == [0, 1]
    assert _states(job_id) == [("fetched", None)] * 6 + [("queued", None)]
    for item_id in range(6):  # the queued ones were renewed
        deadline = leases.deadline(lease_key(job_id, item_id))
        assert deadline is not None and deadline > before
    assert client.llen(queue_keys("extract")[0]) == 6


@pytest.mark.usefixtures("own_store")
def test_a_stranded_unacknowledged_copy_goes_back_to_its_queue_once(
    client: redis.Redis,
) -> None:
    """After a Redis restart a live worker no longer holds what ``unacked`` still lists:
    nobody renews the lease, and the copy is restored to its queue, not waited for an
    hour (the visibility timeout)."""
    job_id = _job({State.EXTRACTED: ("url", "http://127.0.0.2:9/stranded.html")})
    publish("dedup", Article(job_id, 0, url="http://127.0.0.2:9/stranded.html").to_dict(), "x")
    raw = client.rpop(queue_keys("dedup")[0])
    assert raw is not None
    for tag in ("tag-0", "tag-1"):  # a second copy too (a retry's), dropped
        client.hset("unacked", tag, json.dumps([json.loads(raw), "", "dedup"]))
        client.zadd("unacked_index", {tag: time.time()})
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0)
    assert _looks(reconciler) == [0, 1]
    assert client.hlen("unacked") == 0 and client.zcard("unacked_index") == 0
    assert client.llen(queue_keys("dedup")[0]) == 1  # once
    assert _states(job_id) == [("extracted", None)]  # its message carries it on
    assert leases.deadline(lease_key(job_id, 0)) is not None


@pytest.mark.usefixtures("own_store")
def test_a_lease_renewed_between_two_looks_is_left_alone(client: redis.Redis) -> None:
    job_id = _job({State.FETCHED: ("url", "http://127.0.0.2:9/slow.html")})
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0)
    assert _looks(reconciler, 1) == [0]  # a suspect, given one more beat
    leases.renew([lease_key(job_id, 0)], length=BEAT / 2)  # its worker took it meanwhile
    assert _looks(reconciler, 1) == [0]  # expired again, but renewed since: a suspect anew
    assert _states(job_id) == [("fetched", None)]


@pytest.mark.usefixtures("own_store")
def test_a_worker_taking_the_item_during_a_look_keeps_the_lease_it_gave(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The message leaves its queue for a worker while the look reads the queues: the
    worker's fresh lease is not cut back to the suspect's single beat."""
    job_id = _job({State.FETCHED: ("url", "http://127.0.0.2:9/taken.html")})
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0)
    key = lease_key(job_id, 0)
    queues_read = reconciler._still_queued

    given: list[int | None] = []

    def taken_while_read(keys: list[str]) -> list[str]:
        found = queues_read(keys)
        leases.renew([key])  # the worker's task_received renewal
        given.append(leases.deadline(key))
        return found

    monkeypatch.setattr(reconciler, "_still_queued", taken_while_read)
    assert _looks(reconciler, 1) == [0]
    assert given and leases.deadline(key) == given[0]  # not cut back to one beat
    assert _looks(reconciler, 1) == [0]  # not expired: nothing to judge
    assert _states(job_id) == [("fetched", None)]


@pytest.mark.usefixtures("own_store")
def test_a_lease_renewed_after_the_verdict_is_not_sent_on(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Judged lost, but renewed by its worker before it is sent: the renewal wins."""
    job_id = _job({State.FETCHED: ("url", "http://127.0.0.2:9/late-renewal.html")})
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0)
    resent = resent_count(client)
    assert _looks(reconciler, 1) == [0]  # a suspect
    key = lease_key(job_id, 0)
    judge_copies = reconciler._take

    def renewed_first(keys: list[str], expired: dict[str, int]) -> list[str]:
        leases.renew([key])
        return judge_copies(keys, expired)

    monkeypatch.setattr(reconciler, "_take", renewed_first)
    assert _looks(reconciler, 1) == [0]
    assert _states(job_id) == [("fetched", None)]
    assert resent_count(client) == resent


@pytest.mark.usefixtures("own_store")
def test_an_item_whose_lease_redis_lost_is_adopted_from_the_store(client: redis.Redis) -> None:
    """Redis restarted from an AOF one second short: the item's message and lease are gone,
    the store says it is in transit. The store is the truth."""
    job_id = _job({State.TAGGED: ("url", "http://127.0.0.2:9/forgotten.html")})
    reconciler, leases = _reconciler(client)
    assert leases.count() == 0
    assert _looks(reconciler) == [0, 1]  # adopted (expired) and a suspect; then sent on
    assert _states(job_id) == [("queued", None)]


@pytest.mark.usefixtures("own_store")
def test_final_items_lose_their_lease_and_any_stale_copy(client: redis.Redis) -> None:
    job_id = _job({State.STORED: ("url", "http://127.0.0.2:9/done.html")})
    publish("store", Article(job_id, 0, url="http://127.0.0.2:9/done.html").to_dict(), "x")
    raw = client.rpop(queue_keys("store")[0])
    assert raw is not None
    client.hset("unacked", "tag-9", json.dumps([json.loads(raw), "", "store"]))
    reconciler, leases = _reconciler(client)
    _expire(leases, job_id, 0)
    assert _looks(reconciler, 1) == [0]
    assert leases.count() == 0 and client.hlen("unacked") == 0


def test_a_worker_holds_what_its_pool_runs_reserves_or_waits_to_run() -> None:
    """The keeper renews the leases of Celery's own requests in this process, never of
    fetches (the frontier's) or of messages that are only listed in ``unacked``."""

    class Request:  # what the keeper reads of celery.worker.request.Request
        def __init__(self, name: str, payload: dict[str, object]) -> None:
            self.name = name
            self.args = [payload]

    def request(name: str, job: str, item: int) -> Request:
        return Request(name, {"job_id": job, "item_id": item})

    running = request("workers.tag", "j", 1)
    reserved = request("workers.extract", "j", 2)
    waiting = request("workers.store", "j", 3)
    fetch = request("workers.fetch", "j", 4)
    poll = Request("workers.poll_feed", {"feed": 1})
    worker_state.active_requests.add(running)
    worker_state.reserved_requests.add(reserved)
    worker_state.scheduled_requests.add(waiting)
    worker_state.reserved_requests.add(fetch)
    worker_state.reserved_requests.add(poll)
    try:
        assert held_keys() == {"j:1", "j:2", "j:3"}
        assert request_key(poll) is None and request_key(fetch) is None
    finally:
        for held in (running, reserved, waiting, fetch, poll):
            for requests in (
                worker_state.active_requests,
                worker_state.reserved_requests,
                worker_state.scheduled_requests,
            ):
                requests.discard(held)
