"""Celery task events, collected on a thread: which task ran for which item, when, how long.

Workers always send task events (``worker_send_task_events``), and the producer sends
``task-sent``. Each task's argument label (``job=… item=… id=…``) ties it to an item, so
the collector can tell, per stage, how long tasks ran and, per item, when it was queued
and when its last task finished.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from celery import Celery
from celery.events.receiver import EventReceiver

__all__ = ["EventCollector", "TaskRecord"]

_LABEL = re.compile(r"job=(\S+) item=(\d+)")


@dataclass
class TaskRecord:
    """One task as its events describe it."""

    name: str = ""
    item: int | None = None
    sent: float | None = None
    finished: float | None = None
    runtime: float | None = None
    outcome: str = ""


class _Receiver(EventReceiver):
    """An event receiver that says when it has started consuming."""

    def __init__(self, *args: Any, ready: threading.Event, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._ready = ready

    def on_consume_ready(
        self, connection: Any, channel: Any, consumers: Any, **kwargs: Any
    ) -> None:
        super().on_consume_ready(connection, channel, consumers, **kwargs)
        self._ready.set()


@dataclass
class EventCollector:
    """Collects the task events of one job from ``app``'s broker while it runs."""

    app: Celery
    job_id: str = ""
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    error: BaseException | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _receiver: _Receiver | None = None
    _thread: threading.Thread | None = None
    _last_event: float = 0.0

    def start(self, timeout: float = 15) -> None:
        self._thread = threading.Thread(target=self._run, name="celery-events", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the event receiver did not start: {self.error!r}")

    def _run(self) -> None:
        try:
            with self.app.connection_for_read() as connection:
                self._receiver = _Receiver(
                    connection, handlers={"*": self._on_event}, app=self.app, ready=self._ready
                )
                self._receiver.capture(limit=None, timeout=None, wakeup=False)
        except BaseException as exc:  # reported by the run, which must not hang on it
            self.error = exc
            self._ready.set()

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type", "")
        if not kind.startswith("task-") or "uuid" not in event:
            return
        self._last_event = time.monotonic()
        with self._lock:
            record = self.tasks.get(event["uuid"])
            if record is None:
                if kind not in ("task-sent", "task-received"):
                    return
                match = _LABEL.search(event.get("args") or "")
                if match is None or (self.job_id and match.group(1) != self.job_id):
                    return  # not one of this run's tasks
                record = self.tasks[event["uuid"]] = TaskRecord(item=int(match.group(2)))
            record.name = record.name or event.get("name") or ""
            if kind == "task-sent":
                record.sent = event.get("timestamp")
            elif kind == "task-succeeded":
                record.finished, record.runtime = event.get("timestamp"), event.get("runtime")
                record.outcome = "succeeded"
            elif kind in ("task-failed", "task-retried", "task-rejected", "task-revoked"):
                record.finished, record.outcome = event.get("timestamp"), kind[5:]

    def unfinished(self) -> int:
        with self._lock:
            return sum(1 for r in self.tasks.values() if not r.outcome)

    def settle(self, quiet: float = 0.5, timeout: float = 10.0) -> None:
        """Wait until every task seen has finished and no event came for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.unfinished() == 0 and time.monotonic() - self._last_event >= quiet:
                return
            time.sleep(0.1)

    def stop(self) -> None:
        if self._receiver is not None:
            self._receiver.should_stop = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def snapshot(self) -> list[TaskRecord]:
        with self._lock:
            return list(self.tasks.values())
