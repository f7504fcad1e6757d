"""Which task ran for which item, when and how long, from the Celery task events of a run.

Workers always send task events (``worker_send_task_events``), and the producer sends
``task-sent``. Each task's argument label (``job=… item=… id=…``) ties it to an item, so
per stage the events tell how long tasks ran and, per item, when it was queued and when
its last task finished. The events are collected by the tests' ``recorded_events``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["TaskRecord", "task_records"]

_LABEL = re.compile(r"job=(\S+) item=(\d+)")
_ENDED = ("task-failed", "task-retried", "task-rejected", "task-revoked")


@dataclass
class TaskRecord:
    """One task as its events describe it."""

    name: str = ""
    item: int | None = None
    sent: float | None = None
    finished: float | None = None
    runtime: float | None = None
    outcome: str = ""


def task_records(events: Iterable[dict[str, Any]], job_id: str) -> list[TaskRecord]:
    """The tasks of job ``job_id``, from ``events`` in the order they arrived."""
    tasks: dict[str, TaskRecord] = {}
    for event in events:
        kind = event.get("type", "")
        if not kind.startswith("task-") or "uuid" not in event:
            continue
        record = tasks.get(event["uuid"])
        if record is None:
            if kind not in ("task-sent", "task-received"):
                continue
            match = _LABEL.search(event.get("args") or "")
            if match is None or match.group(1) != job_id:
                continue  # not one of this job's tasks
            record = tasks[event["uuid"]] = TaskRecord(item=int(match.group(2)))
        record.name = record.name or event.get("name") or ""
        if kind == "task-sent":
            record.sent = event.get("timestamp")
        elif kind == "task-succeeded":
            record.finished, record.runtime = event.get("timestamp"), event.get("runtime")
            record.outcome = "succeeded"
        elif kind in _ENDED:
            record.finished, record.outcome = event.get("timestamp"), kind[5:]
    return list(tasks.values())
