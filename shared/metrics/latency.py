"""Stage latency from Celery's task events, as a Prometheus histogram per stage.

Workers send ``task-received`` (with the task's name) and ``task-succeeded`` (with its
``runtime``, the seconds the task body ran). A listener thread pairs them by task id and
observes the runtime under the stage's name. Events travel over Redis pub/sub: a listener
that is down or slow misses some, so the histogram is a sample, not a ledger.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from celery import Celery
from prometheus_client import CollectorRegistry, Gauge, Histogram

__all__ = ["STAGE_BUCKETS", "StageLatency"]

log = logging.getLogger(__name__)

# From a dedup decision (milliseconds) to a slow fetch or a long text's tagging (minutes).
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class StageLatency:
    """Listens to the cluster's task events and fills ``sluice_stage_duration_seconds``."""

    def __init__(
        self,
        app: Celery,
        stages: Iterable[str],
        registry: CollectorRegistry,
        remembered: int = 100_000,
    ) -> None:
        self._app = app
        self._stages = {f"workers.{stage}": stage for stage in stages}
        self._names: OrderedDict[str, str] = OrderedDict()  # task id -> stage, newest last
        self._remembered = remembered
        self._stop = threading.Event()
        self._receiver: Any = None
        self.histogram = Histogram(
            "sluice_stage_duration_seconds",
            "Seconds a stage's task body ran, from task-succeeded events.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=registry,
        )
        self.listening = Gauge(
            "sluice_exporter_events_connected",
            "1 while the exporter is subscribed to the workers' task events.",
            registry=registry,
        )
        for stage in self._stages.values():
            self.histogram.labels(stage)  # every stage shows up, even before its first task

    def observe(self, event: dict[str, Any]) -> None:
        """Take one event (exposed for the listener and for tests)."""
        kind = event.get("type")
        task_id = event.get("uuid")
        if not task_id:
            return
        if kind in ("task-received", "task-sent"):
            stage = self._stages.get(event.get("name") or "")
            if stage is not None:
                self._names[task_id] = stage
                self._names.move_to_end(task_id)
                while len(self._names) > self._remembered:
                    self._names.popitem(last=False)
        elif kind == "task-succeeded":
            stage = self._names.pop(task_id, None)
            runtime = event.get("runtime")
            if stage is not None and runtime is not None:
                self.histogram.labels(stage).observe(float(runtime))
        elif kind in ("task-failed", "task-revoked", "task-rejected"):
            self._names.pop(task_id, None)

    def run(self) -> None:
        """Listen until :meth:`stop`, reconnecting after broker trouble."""
        while not self._stop.is_set():
            try:
                with self._app.connection() as connection:
                    self._receiver = self._app.events.Receiver(
                        connection, handlers={"*": self.observe}
                    )
                    self.listening.set(1)
                    self._receiver.capture(limit=None, timeout=None, wakeup=False)
            except Exception as exc:  # the broker went away: wait, then subscribe again
                log.warning("task events unavailable, retrying: %s", exc)
            finally:
                self.listening.set(0)
            self._stop.wait(2.0)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="sluice-events", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        if self._receiver is not None:
            self._receiver.should_stop = True
