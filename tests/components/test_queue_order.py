"""workers.queue_order: a worker takes store, dedup, extract and tag, in that order."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from kombu import Connection, Consumer, Exchange, Producer, Queue

from sluice.workers.queue_order import TagLast, strategy

STAGES = ("extract", "dedup", "tag", "store")


def test_stages_are_taken_downstream_first_and_tag_last() -> None:
    cycle = TagLast()
    cycle.update(["extract", "celery", "tag", "store", "dedup"])
    assert cycle.consume(5) == ["store", "dedup", "extract", "tag", "celery"]
    cycle.rotate("store")  # no rotation: the order holds after every message
    assert cycle.consume(5) == ["store", "dedup", "extract", "tag", "celery"]


def test_the_setting_names_the_kombu_strategy() -> None:
    assert strategy("tag_last") == "sluice.workers.queue_order:TagLast"
    assert strategy("round_robin") == "round_robin"


@pytest.fixture
def empty_queues(redis_client: redis.Redis) -> Iterator[None]:
    redis_client.delete(*STAGES)
    yield
    redis_client.delete(*STAGES)


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("tag_last", ["store", "store", "dedup", "extract", "extract", "tag", "tag"]),
        ("round_robin", None),  # kombu's rotation: never two of one stage while others wait
    ],
)
def test_a_redis_consumer_follows_the_order(
    redis_url: str, empty_queues: None, order: str, expected: list[str] | None
) -> None:
    exchange = Exchange("stages", type="direct")
    queues = [Queue(stage, exchange, routing_key=stage) for stage in STAGES]
    options = {"queue_order_strategy": strategy(order)}
    with Connection(redis_url, transport_options=options) as conn:
        channel = conn.channel()
        for queue in queues:
            queue(channel).declare()
        producer = Producer(channel, exchange=exchange, serializer="json")
        for stage in ("tag", "extract", "store", "tag", "dedup", "extract", "store"):
            producer.publish({"stage": stage}, routing_key=stage)
        taken: list[str] = []

        def take(body: dict, message: object) -> None:
            taken.append(body["stage"])
            message.ack()  # type: ignore[attr-defined]

        with Consumer(channel, queues=queues, callbacks=[take]):
            while len(taken) < 7:
                conn.drain_events(timeout=5)
    if expected is not None:
        assert taken == expected
    else:
        assert sorted(taken) == sorted(expected or taken)
        assert taken[:4] != ["store", "store", "dedup", "extract"]
