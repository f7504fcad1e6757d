"""Where each stage runs: task names ``workers.<stage>``, one queue per stage, all declared here."""

from __future__ import annotations

from typing import Any

from kombu import Queue

__all__ = [
    "CPU_STAGES",
    "IO_STAGES",
    "STAGES",
    "send_to",
    "task_name",
    "task_queues",
    "task_routes",
]

STAGES: tuple[str, ...] = ("fetch", "extract", "dedup", "tag", "store")
IO_STAGES: tuple[str, ...] = ("fetch",)
CPU_STAGES: tuple[str, ...] = ("extract", "dedup", "tag", "store")


def task_name(stage: str) -> str:
    return f"workers.{stage}"


def task_routes() -> dict[str, dict[str, str]]:
    """Celery's ``task_routes``: each stage's task goes to the queue named after the stage."""
    return {task_name(stage): {"queue": stage} for stage in STAGES}


def task_queues() -> tuple[Queue, ...]:
    """Celery's ``task_queues``: every stage's queue, so that a worker started without
    ``-Q`` serves them all (``-Q`` still picks some)."""
    return tuple(Queue(stage, routing_key=stage) for stage in STAGES)


def send_to(stage: str, payload: dict[str, Any], label: str = "", producer: Any = None) -> None:
    """Enqueue ``payload`` (an article dict) for ``stage``.

    ``label`` replaces the arguments in logs and Flower, so user-submitted URLs and article
    texts are not dumped into every log line. ``producer`` (a kombu producer, e.g. inside
    its ``batch()``) sends through it instead of one taken from the pool.
    """
    from workers.app import app

    app.send_task(
        task_name(stage),
        args=[payload],
        queue=stage,
        argsrepr=f"({label or 'article'})",
        kwargsrepr="{}",
        producer=producer,
    )
