"""What the pipeline is doing now, per stage: queue depth, workers, throughput, time to drain.

* Depth: the length of the stage's Redis lists (:func:`shared.queues.queue_depths`).
* Workers: Celery's ``active_queues`` broadcast (who consumes which queue) and ``stats``
  (pool size, and ``total``: tasks each worker has started, per task name). A broadcast
  waits for as many replies as workers beat in Redis
  (:func:`workers.recovery.keeper.live_nodes`), up to the timeout; with none beating,
  nobody is asked.
* Throughput: the growth of those ``total`` counters between two looks, summed over the
  workers. Each look is kept in Redis for two minutes, so successive ``sluice status`` runs
  (from any machine) and ``--watch`` measure over up to the last minute; the first look
  ever has nothing to compare with, and says so. Counting tasks rather than items makes the
  rate match the depth: a fetch deferred for politeness or a retry is a message in the queue
  and a task started, both times.
* Time to drain: the backlog divided by throughput; unknown while nothing is being taken.
  The fetch stage's backlog is its queue and the URLs waiting in the crawl frontier for
  their host's turn (each is at least one fetch task to come).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import redis

from sluice.shared.queues import queue_depths
from sluice.shared.redis_state import KEY_PREFIX
from sluice.workers.pipeline import STAGES, task_name

__all__ = [
    "PipelineView",
    "StageView",
    "WorkerSnapshot",
    "drain_seconds",
    "inspect_workers",
    "look_at_pipeline",
    "tasks_started",
]

_SAMPLES_KEY = f"{KEY_PREFIX}status:task-totals"
_WINDOW = 60.0  # seconds of throughput history compared against
_MIN_WINDOW = 1.0  # a look closer than this to the current one is too noisy to use
_KEEP = 120.0


@dataclass(frozen=True, slots=True)
class WorkerSnapshot:
    """What the workers answered: queues consumed, pool size and tasks started, per worker."""

    queues: dict[str, list[str]] = field(default_factory=dict)
    slots: dict[str, int] = field(default_factory=dict)
    totals: dict[str, dict[str, int]] = field(default_factory=dict)
    uptime: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StageView:
    """One stage: messages waiting, who serves them, how fast, and how long until empty."""

    queued: int
    workers: int
    slots: int
    throughput_per_s: float | None  # tasks started per second lately; None: not measured
    drain_s: float | None  # backlog / throughput; None: not measured or nothing taken
    # Fetch only: URLs waiting in the crawl frontier for their host's turn, not yet sent to
    # the queue. They are part of its backlog: the drain time counts them.
    frontier: int = 0

    @property
    def backlog(self) -> int:
        return self.queued + self.frontier


@dataclass(frozen=True, slots=True)
class PipelineView:
    stages: dict[str, StageView]
    workers: list[str]
    throughput_window_s: float | None  # how far back the throughput looks; None: first look

    def to_dict(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "throughput_window_s": _round(self.throughput_window_s),
            "stages": {
                stage: {
                    k: _round(v)
                    for k, v in asdict(view).items()
                    if k != "frontier" or stage == "fetch"
                }
                for stage, view in self.stages.items()
            },
        }


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def inspect_workers(app: Any, timeout: float, expected: int | None = None) -> WorkerSnapshot:
    """Ask every worker for its queues and stats (both broadcasts at once, ``timeout`` each).

    With ``expected``, a broadcast ends as soon as that many workers have answered (none
    is sent when it is 0), instead of always waiting ``timeout`` for late ones.
    """
    if expected == 0:
        return WorkerSnapshot()
    with ThreadPoolExecutor(2) as pool:
        queues_reply = pool.submit(
            lambda: app.control.inspect(timeout=timeout, limit=expected).active_queues()
        )
        stats_reply = pool.submit(
            lambda: app.control.inspect(timeout=timeout, limit=expected).stats()
        )
        queues = queues_reply.result() or {}
        stats = stats_reply.result() or {}
    return WorkerSnapshot(
        queues={worker: [q["name"] for q in consumed] for worker, consumed in queues.items()},
        slots={w: int(s.get("pool", {}).get("max-concurrency") or 0) for w, s in stats.items()},
        totals={w: {k: int(v) for k, v in s.get("total", {}).items()} for w, s in stats.items()},
        uptime={w: float(s.get("uptime") or 0) for w, s in stats.items()},
    )


def drain_seconds(depth: int, rate: float | None) -> float | None:
    """Seconds until ``depth`` messages are taken at ``rate`` per second (None: never/unknown)."""
    if depth == 0:
        return 0.0
    return depth / rate if rate else None


def tasks_started(now: WorkerSnapshot, then: Mapping[str, Any], window: float) -> dict[str, int]:
    """Tasks started per task name between an earlier look ``then`` and ``now``.

    A worker that restarted within the window counts from zero; one older than the window
    that did not answer the earlier look is left out (its counts span more than the window).
    """
    started: dict[str, int] = {}
    for worker, totals in now.totals.items():
        before = then["totals"].get(worker)
        restarted = now.uptime.get(worker, 0) < window
        if before is None and not restarted:
            continue  # it did not answer last time: its counts cover more than the window
        for name, count in totals.items():
            earlier = 0 if before is None or restarted else before.get(name, 0)
            started[name] = started.get(name, 0) + max(0, count - earlier)
    return started


def _remember(client: redis.Redis, snapshot: WorkerSnapshot, at: float) -> dict[str, Any] | None:
    """Store this look; return the oldest earlier look of the last minute (None if none)."""
    earlier = cast(
        list[tuple[bytes, float]],
        client.zrangebyscore(
            _SAMPLES_KEY, at - _WINDOW, at - _MIN_WINDOW, start=0, num=1, withscores=True
        ),
    )
    entry = json.dumps({"at": at, "totals": snapshot.totals})
    with client.pipeline(transaction=False) as pipe:
        pipe.zadd(_SAMPLES_KEY, {entry: at})
        pipe.zremrangebyscore(_SAMPLES_KEY, "-inf", at - _KEEP)
        pipe.expire(_SAMPLES_KEY, int(_KEEP))
        pipe.execute()
    if not earlier:
        return None
    remembered: dict[str, Any] = json.loads(earlier[0][0])
    return remembered


def look_at_pipeline(
    client: redis.Redis,
    app: Any,
    *,
    timeout: float = 1.0,
    stages: Sequence[str] = STAGES,
    frontier_waiting: int = 0,
) -> PipelineView:
    """Depth, workers, throughput and time to drain of every stage, as of now;
    ``frontier_waiting`` URLs in the crawl frontier count in the fetch stage's backlog."""
    from sluice.workers.recovery.keeper import live_nodes

    snapshot = inspect_workers(app, timeout, expected=len(live_nodes(client)))
    from sluice.shared.clock import clock_for

    at = clock_for(client).now()  # compared with samples that other machines took
    depths = queue_depths(client, stages)
    then = _remember(client, snapshot, at)
    window = None if then is None else at - float(then["at"])
    started = {} if then is None or window is None else tasks_started(snapshot, then, window)
    views: dict[str, StageView] = {}
    for stage in stages:
        serving = [w for w, queues in snapshot.queues.items() if stage in queues]
        rate = None if window is None else started.get(task_name(stage), 0) / window
        waiting = frontier_waiting if stage == "fetch" else 0
        views[stage] = StageView(
            queued=depths[stage],
            workers=len(serving),
            slots=sum(snapshot.slots.get(w, 0) for w in serving),
            throughput_per_s=rate,
            drain_s=drain_seconds(depths[stage] + waiting, rate),
            frontier=waiting,
        )
    return PipelineView(views, sorted(snapshot.queues), window)
