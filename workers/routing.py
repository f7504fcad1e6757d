"""Where each stage's task goes, from the pipeline table, and the one way sluice publishes.

Task names are ``workers.<stage>`` and each goes to the queue named after its stage
(:mod:`workers.pipeline`). Every message sluice sends, from a producer, a stage or the CLI,
goes through :func:`publish`, which also grants the item its lease
(:mod:`shared.item_leases`) for any stage after fetch; an item for the fetch stage goes
into the crawl frontier (through its door, :func:`workers.fetching.frontier.enter`)
instead, and only the frontier's pump sends fetch tasks.
"""

from __future__ import annotations

from typing import Any

from kombu.entity import Queue

from sluice.shared.item_leases import ItemLeases, lease_key
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.fetching.frontier import FRONTIER_STAGE, arrival_of, enter
from sluice.workers.pipeline import PIPELINE, stage

__all__ = ["publish", "task_queues", "task_routes"]


def task_routes() -> dict[str, dict[str, str]]:
    """Celery's ``task_routes``: each stage's task goes to its stage's queue."""
    return {row.task_name: {"queue": row.queue} for row in PIPELINE}


def task_queues() -> tuple[Queue, ...]:
    """Celery's ``task_queues``: every stage's queue, so that a worker started without
    ``-Q`` serves them all (``-Q`` still picks some)."""
    return tuple(Queue(row.queue, routing_key=row.queue) for row in PIPELINE)


def publish(
    name: str,
    payload: dict[str, Any],
    label: str,
    *,
    producer: Any = None,
    released: bool = False,
) -> None:
    """Enqueue ``payload`` (an article dict) for stage ``name``.

    ``label`` (:func:`shared.article.label_of`) replaces the arguments in logs and Flower, so
    submitted URLs and texts are not dumped into every log line. ``producer`` (a kombu
    producer, e.g. inside its ``batch()``) sends through it instead of one from the pool.
    A fetch item waits in the frontier for its host's turn, unless ``released`` (the pump).
    """
    if name == FRONTIER_STAGE and not released:
        enter([arrival_of(payload)])
        return
    from sluice.workers.celery import app  # the app is built only by those who send

    row = stage(name)
    if name != FRONTIER_STAGE and "job_id" in payload:
        # The item's one lease (shared.item_leases): granted before its message exists, so
        # no moment passes when an item in transit has neither.
        leases = ItemLeases(get_redis(), get_settings().item_lease)
        leases.renew([lease_key(payload["job_id"], payload.get("item_id"))])
    app.send_task(
        row.task_name,
        args=[payload],
        queue=row.queue,
        argsrepr=f"({label})",
        kwargsrepr="{}",
        producer=producer,
    )
