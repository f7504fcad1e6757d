"""Celery tasks: one per row of the pipeline table, each running its stage through
:func:`workers.running.run_stage`.

With ``SLUICE_CHAIN_STAGES``, stages that this worker serves run inside the task before them
instead of as tasks of their own (which ones: the ``chained_in`` column of
:mod:`workers.pipeline`). The worker decides that once, when it starts and knows its queues.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from celery.signals import worker_init

from sluice.shared.settings import get_settings
from sluice.workers.celery import app
from sluice.workers.pipeline import PIPELINE, chainable, time_limits
from sluice.workers.running import run_stage

__all__ = ["chain", "configure_chain"]

# The stages this worker runs inside the task before them; set at worker start.
chain: frozenset[str] = frozenset()


def _stage_task(name: str) -> Task:
    """Register the ``workers.<stage>`` task, with the stage's own time limits (widened at
    worker start for the stages it runs too: :func:`configure_chain`)."""
    soft, hard = time_limits(get_settings(), name)

    @app.task(  # type: ignore[untyped-decorator]  # Celery ships no types
        name=f"workers.{name}",
        bind=True,
        soft_time_limit=soft,
        time_limit=hard,
        Request="sluice.workers.task_requests:StageRequest",
    )
    def task(self: Task, payload: dict[str, Any]) -> None:
        run_stage(self, payload, name, chain)

    return task


for _row in PIPELINE:
    _stage_task(_row.name)


def configure_chain(served: frozenset[str] | set[str]) -> frozenset[str]:
    """Chain the chainable stages among ``served`` (the worker's queues), and give each task
    the time limits of its own stage plus those it runs inside it."""
    global chain
    settings = get_settings()
    chain = chainable(settings.chain_stages, served)
    for row in PIPELINE:
        task = app.tasks[row.task_name]
        task.soft_time_limit, task.time_limit = time_limits(settings, row.name, chain)
    return chain


@worker_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _configure_worker(**_: Any) -> None:
    """Runs once the worker knows its queues and before it consumes: Celery reads a task's
    limits when it starts the worker's consumer."""
    configure_chain(set(app.amqp.queues.consume_from))
