"""The sweep of items lost in transit, on a real Redis and a store of its own: only items
with no message anywhere, found so at two looks, are sent again; nothing is concluded
while a queue after fetch holds messages."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import pytest
import redis
from sqlalchemy import update

from sluice.shared.article import Article
from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import session_scope
from sluice.shared.db.schema import items
from sluice.shared.jobs import ItemSpec, create_job, list_items, new_job_id
from sluice.shared.queues import queue_keys
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.recovery.lost_items import AFTER_FETCH, LostItems, resent_count
from sluice.workers.routing import publish
from tests.support.services import fresh_store

LOST_AFTER = 0.4  # the lock between two looks lasts half of it


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
        redis_client.delete("unacked")

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


def _look_twice(sweeper: LostItems) -> tuple[int, int]:
    """Two looks, each once the lock of the one before has lapsed."""
    found = []
    for _ in range(2):
        time.sleep(LOST_AFTER / 2 + 0.05)
        found.append(sweeper.look())
    return found[0], found[1]


@pytest.mark.usefixtures("own_store")
def test_items_with_no_message_anywhere_are_sent_again_at_the_second_look(
    client: redis.Redis,
) -> None:
    job_id = _job(
        {
            State.EXTRACTED: ("url", "http://127.0.0.2:9/lost.html"),
            State.TAGGED: ("text", "a text nobody kept"),
            State.QUEUED: ("url", "http://127.0.0.2:9/waits-in-the-frontier.html"),
        }
    )
    assert _look_twice(LostItems(client, LOST_AFTER)) == (0, 2)

    assert _states(job_id) == [
        ("queued", None),  # fetched again: back in the frontier
        ("failed", "lost_in_transit"),  # its text travelled only in the lost message
        ("queued", None),  # a queued URL is the frontier's (its leases), not the sweep's
    ]
    assert Frontier(client).size() == 1
    assert resent_count(client) == 2  # sluice_lost_items_resent_total


@pytest.mark.usefixtures("own_store")
def test_an_item_whose_message_a_worker_holds_or_a_queue_has_is_left_alone(
    client: redis.Redis,
) -> None:
    job_id = _job(
        {
            State.EXTRACTED: ("url", "http://127.0.0.2:9/running.html"),
            State.FETCHED: ("url", "http://127.0.0.2:9/waiting.html"),
        }
    )
    # Item 0's message is unacknowledged (a worker runs it): as kombu keeps it.
    publish("dedup", Article(job_id, 0, url="http://127.0.0.2:9/running.html").to_dict(), "0")
    raw = client.rpop(queue_keys("dedup")[0])
    assert raw is not None
    client.hset("unacked", "tag-0", json.dumps([json.loads(raw), "", "dedup"]))
    # Item 1's message waits in the extract queue: nothing is concluded at all.
    publish("extract", Article(job_id, 1, url="http://127.0.0.2:9/waiting.html").to_dict(), "1")
    sweeper = LostItems(client, LOST_AFTER)
    assert _look_twice(sweeper) == (0, 0)
    assert _states(job_id) == [("extracted", None), ("fetched", None)]

    client.delete(*queue_keys("extract"))  # now item 1's message is gone too
    assert _look_twice(sweeper) == (0, 1)
    assert _states(job_id) == [("extracted", None), ("queued", None)]


@pytest.mark.usefixtures("own_store")
def test_an_item_that_moves_between_two_looks_is_not_sent_again(client: redis.Redis) -> None:
    job_id = _job({State.FETCHED: ("url", "http://127.0.0.2:9/slow.html")})
    sweeper = LostItems(client, LOST_AFTER)
    assert sweeper.look() == 0  # a suspect
    with session_scope() as conn:  # its message reached extract, which recorded progress
        conn.execute(update(items).where(items.c.job_id == job_id).values(state="extracted"))
    _age(job_id, 60)
    time.sleep(LOST_AFTER / 2 + 0.05)
    assert sweeper.look() == 0  # a suspect again, under its new state
    assert _states(job_id) == [("extracted", None)]


@pytest.mark.usefixtures("own_store")
def test_a_sweeper_whose_clock_is_ten_minutes_ahead_sends_nothing_early(
    client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items' ages are read on the store's clock, the one that wrote ``updated_at``: a
    machine ten minutes ahead does not take a minute-old item for a lost one."""

    class Ahead(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Ahead:
            return cls.fromtimestamp(time.time() + 600, tz)

    job_id = _job({"extracted": ("text", "some text")})  # a minute old
    monkeypatch.setattr("sluice.workers.recovery.lost_items.datetime", Ahead, raising=False)
    sweeper = LostItems(client, lost_after=300)
    for _ in range(2):
        client.delete("sluice:lost-items:look")  # no waiting out the lock between looks
        assert sweeper.look() == 0
    assert _states(job_id) == [("extracted", None)]
    _age(job_id, 300)  # now six minutes old by the store's clock: lost at two looks
    found = []
    for _ in range(2):
        client.delete("sluice:lost-items:look")
        found.append(sweeper.look())
    assert found == [0, 1]
