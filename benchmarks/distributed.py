"""The distributed run: real ``sluice worker`` processes, Redis queues and a store.

Every page is submitted as raw HTML through :func:`producers.submit_pages`; the run ends
when every item has reached a final state. Celery task events give each stage's task
runtimes and each item's queue and finish times; the articles' stored ``timings`` give the
time spent inside the stage functions.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import select

from benchmarks.corpus import BenchPage
from benchmarks.events import TaskRecord, task_records
from benchmarks.processes import ProcessWatch
from benchmarks.quality import Stored, stored_articles
from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import read_scope
from sluice.shared.db.schema import articles
from sluice.shared.jobs import job_counts, new_job_id
from sluice.shared.queues import queue_keys
from sluice.shared.settings import get_settings
from sluice.workers.pipeline import STAGES, Pool, by_pool
from tests.support.cluster import Cluster
from tests.support.events import recorded_events, settle
from tests.support.services import fresh_store

__all__ = ["SluiceOptions", "SluiceResult", "cluster_for", "merge_parts", "run_sluice"]


@dataclass(frozen=True)
class SluiceOptions:
    """How to run the cluster: services to use and workers to start. ``redis_url`` names a
    Redis database reserved for the run (see :func:`tests.support.services.redis_database`)."""

    redis_url: str
    database_url: str | None = None
    workers: int = 1
    concurrency: int | None = None
    stages: tuple[str, ...] = STAGES
    stall_timeout: float = 300.0
    keep: bool = False
    chain_stages: str = "all"
    warc: bool = False  # submit each part as a WARC file (sluice submit --warc) instead
    warc_dir: Path | None = None


@dataclass
class SluiceResult:
    """What the distributed run measured; times in seconds, memory in KiB."""

    seconds: float
    submit_seconds: float
    task_runtimes: dict[str, list[float]]
    stage_bodies: dict[str, list[float]]
    states: dict[str, int]
    reasons: dict[str, int]
    latencies: list[float]
    latencies_from_enqueue: list[float]
    queue_waits: list[float]
    items_timed: int
    worker_cpu_seconds: float
    producer_cpu_seconds: float
    worker_cpu_by_kind: dict[str, float] = field(default_factory=dict)
    redis_cpu_seconds: float | None = None
    worker_rss: list[tuple[str, int]] = field(default_factory=list)
    rss_along_run: list[tuple[float, int]] = field(default_factory=list)
    queue_bytes_per_item: dict[str, float] = field(default_factory=dict)
    stored: dict[str, Stored] = field(default_factory=dict)
    redis_url: str = ""
    store_url: str = ""
    part_seconds: list[float] = field(default_factory=list)
    part_articles: list[int] = field(default_factory=list)
    # When each item finished, in seconds of sluice's own clock (the parts end to end).
    finished_at: list[float] = field(default_factory=list)


def cluster_for(redis_url: str, store_url: str, data_dir: Path, chain_stages: str) -> Cluster:
    """Workers (not started yet) on the run's services, and this process (the producer)
    pointed at the same services."""
    cluster = Cluster(redis_url, store_url, data_dir, {"SLUICE_CHAIN_STAGES": chain_stages})
    os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("SLUICE_")})
    get_settings.cache_clear()
    from sluice.workers.celery import reconfigure

    reconfigure()
    return cluster


class _RunWatch:
    """What the run looks like while it goes: workers' memory as items finish, and how many
    bytes of Redis memory a queued message takes in each stage's queue."""

    def __init__(self, processes: ProcessWatch, redis_url: str, total: int) -> None:
        self.processes = processes
        self.redis = redis.Redis.from_url(redis_url)
        self.total = total
        self.rss_along_run: list[tuple[float, int]] = []
        self.queue_bytes_per_item: dict[str, float] = {}
        self._next_share = 0.1
        self._last_queue_look = 0.0

    def look(self, final: int, now: float) -> None:
        current = self.processes.sample_rss()
        while self._next_share <= 1.0 + 1e-9 and final >= self._next_share * self.total:
            self.rss_along_run.append((round(self._next_share, 1), current))
            self._next_share += 0.1
        if now - self._last_queue_look >= 2:
            self._last_queue_look = now
            for stage in by_pool(Pool.PREFORK):
                key = queue_keys(stage)[0]
                length = self.redis.llen(key)
                if length >= 10:
                    size = self.redis.memory_usage(key, samples=0) or 0
                    per_item = size / length
                    self.queue_bytes_per_item[stage] = max(
                        per_item, self.queue_bytes_per_item.get(stage, 0.0)
                    )

    def close(self) -> None:
        self.redis.close()


class _Submission(threading.Thread):
    """``producers.submit_pages`` in the background: with backpressure it returns only once
    the last batch is queued, and the run is watched from its start meanwhile."""

    def __init__(self, pages: list[BenchPage], job_id: str, warc: Path | None = None) -> None:
        super().__init__(name="benchmark-submit", daemon=True)
        self.pages = pages
        self.job_id = job_id
        self.seconds = 0.0
        self.error: BaseException | None = None
        self.warc = warc
        if warc is not None:  # written before the clock starts: a crawl hands over its WARC
            from benchmarks.warcs import write_warc

            write_warc(warc, ((p.url, p.body) for p in pages))

    def run(self) -> None:
        from sluice.producers import submit_pages
        from sluice.producers.warc import ingest_warcs

        started = time.perf_counter()
        try:
            if self.warc is not None:
                ingest_warcs([str(self.warc)], job_id=self.job_id)
            else:
                submit_pages(
                    ((p.body, p.url) for p in self.pages),
                    job_id=self.job_id,
                    description="benchmark",
                )
        except BaseException as exc:  # re-raised by the watching thread
            self.error = exc
        self.seconds = time.perf_counter() - started


def _wait_final(
    submission: _Submission,
    watch: _RunWatch,
    stall_timeout: float,
    progress: Callable[[str], None],
) -> dict:
    """Poll the job until every item is final, watching the run on the way."""
    cluster = watch.processes.cluster
    total = len(submission.pages)
    began = last_change = last_report = time.monotonic()
    last_final = -1
    while True:
        if submission.error is not None:
            raise submission.error
        counts = job_counts(submission.job_id)
        now = time.monotonic()
        watch.look(counts["final"], now)
        if counts["final"] >= total:
            return counts
        if counts["final"] != last_final:
            last_final, last_change = counts["final"], now
        elif now - last_change > stall_timeout:
            raise TimeoutError(
                f"no item finished for {stall_timeout:.0f} s "
                f"({counts['final']}/{total} final):\n{cluster.logs()}"
            )
        if now - last_report >= 5:
            progress(f"  sluice: {counts['final']}/{total} items final")
            last_report = now
        cluster.check_alive()
        # Counting a job's items is a query over all of them, and this process shares the
        # cores with the workers: long runs are polled less often. The run's end comes from
        # task events, not from here.
        time.sleep(min(5.0, max(0.5, (now - began) / 100)))


def _redis_cpu_seconds(redis_url: str) -> float | None:
    """CPU time the Redis server has used (all its clients), if it tells."""
    client = redis.Redis.from_url(redis_url)
    try:
        info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
    except (redis.RedisError, KeyError, ValueError):
        return None
    finally:
        client.close()


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _stage_bodies(job_id: str) -> dict[str, list[float]]:
    """Seconds spent in each stage function, from the ``timings`` stored with each article."""
    bodies: dict[str, list[float]] = {}
    with read_scope() as conn:
        for (timings,) in conn.execute(
            select(articles.c.timings).where(articles.c.job_id == job_id)
        ):
            for stage, seconds in (timings or {}).items():
                bodies.setdefault(stage, []).append(float(seconds))
    return bodies


def _per_item(records: list[TaskRecord], started: float) -> tuple[list[float], ...]:
    """Per item: seconds from job start and from enqueue to its last task's end, and the
    part of the latter spent waiting in queues rather than running."""
    items: dict[int, list[TaskRecord]] = {}
    for record in records:
        if record.item is not None:
            items.setdefault(record.item, []).append(record)
    from_start, from_enqueue, waits = [], [], []
    for tasks in items.values():
        if any(not t.finished for t in tasks):
            continue
        finished = max(t.finished or 0.0 for t in tasks)
        from_start.append(finished - started)
        sent = [t.sent for t in tasks if t.name == "workers.extract" and t.sent]
        if sent:
            from_enqueue.append(finished - min(sent))
            waits.append(from_enqueue[-1] - sum(t.runtime or 0.0 for t in tasks))
    return from_start, from_enqueue, waits


def _run_part(
    pages: list[BenchPage],
    processes: ProcessWatch,
    options: SluiceOptions,
    store_url: str,
    progress: Callable[[str], None],
) -> SluiceResult:
    """Submit ``pages`` as one job to the running workers, wait until every item is final,
    and measure it."""
    redis_url = options.redis_url
    with contextlib.ExitStack() as stack:
        job_id = new_job_id()
        events = stack.enter_context(recorded_events(redis_url))

        warc = (options.warc_dir or Path(".")) / f"{job_id}.warc.gz" if options.warc else None
        submission = _Submission(pages, job_id, warc)  # the WARC is written before the clock
        cpu_before, own_before = processes.cpu_seconds(), _own_cpu_seconds()
        kinds_before, redis_before = processes.cpu_by_kind(), _redis_cpu_seconds(redis_url)
        started_wall, started = time.time(), time.perf_counter()
        submission.start()
        watch = _RunWatch(processes, redis_url, len(pages))
        stack.callback(watch.close)
        counts = _wait_final(submission, watch, options.stall_timeout, progress)
        seconds = time.perf_counter() - started
        submission.join()
        submit_seconds = submission.seconds
        progress(f"  sluice: {len(pages)} pages submitted in {submit_seconds:.1f} s")
        worker_cpu = processes.cpu_seconds() - cpu_before
        producer_cpu = _own_cpu_seconds() - own_before
        kinds = {k: s - kinds_before.get(k, 0.0) for k, s in processes.cpu_by_kind().items()}
        redis_after = _redis_cpu_seconds(redis_url)
        processes.sample_rss()
        settle(events, quiet=0.5, timeout=10)  # the last tasks' events may still come

        records = task_records(list(events), job_id)
        runtimes: dict[str, list[float]] = {}
        for record in records:
            if record.runtime is not None:
                runtimes.setdefault(record.name.removeprefix("workers."), []).append(record.runtime)
        from_start, from_enqueue, waits = _per_item(records, started_wall)
        if len(from_start) == counts["final"]:
            # Every item's last task was seen: the part ended when the last of them did,
            # however late the polling above noticed.
            seconds = min(seconds, max(from_start, default=seconds))
        return SluiceResult(
            seconds=seconds,
            submit_seconds=submit_seconds,
            task_runtimes=runtimes,
            stage_bodies=_stage_bodies(job_id),
            states=counts["states"],
            reasons=counts["reasons"],
            latencies=from_start,
            finished_at=from_start,
            latencies_from_enqueue=from_enqueue,
            queue_waits=waits,
            items_timed=len(from_start),
            worker_cpu_seconds=worker_cpu,
            producer_cpu_seconds=producer_cpu,
            worker_cpu_by_kind=kinds,
            redis_cpu_seconds=(
                None if redis_before is None or redis_after is None else redis_after - redis_before
            ),
            rss_along_run=watch.rss_along_run,
            queue_bytes_per_item=watch.queue_bytes_per_item,
            stored=stored_articles(store_url, job_id),
            redis_url=redis_url,
            store_url=store_url,
        )


def _add(totals: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        totals[key] = totals.get(key, 0) + value


def _nearest_tenths(samples: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Of ``(share of items final, value)`` samples, the one nearest each tenth."""
    if not samples:
        return []
    return [
        (tenth / 10, min(samples, key=lambda s: abs(s[0] - tenth / 10))[1])
        for tenth in range(1, 11)
    ]


def merge_parts(parts: list[SluiceResult]) -> SluiceResult:
    """The parts' figures as one run over all their pages, timed on sluice's own clock: the
    parts end to end, without what ran between them (the baseline)."""
    total = SluiceResult(0.0, 0.0, {}, {}, {}, {}, [], [], [], 0, 0.0, 0.0)
    redis_cpu: list[float | None] = []
    for index, part in enumerate(parts):
        offset = total.seconds
        total.latencies += part.latencies
        total.finished_at += [offset + t for t in part.finished_at or part.latencies]
        total.seconds += part.seconds
        total.part_seconds.append(part.seconds)
        total.part_articles.append(sum(part.states.values()))
        total.submit_seconds += part.submit_seconds
        for stage, values in part.task_runtimes.items():
            total.task_runtimes.setdefault(stage, []).extend(values)
        for stage, values in part.stage_bodies.items():
            total.stage_bodies.setdefault(stage, []).extend(values)
        _add(total.states, part.states)
        _add(total.reasons, part.reasons)
        total.latencies_from_enqueue += part.latencies_from_enqueue
        total.queue_waits += part.queue_waits
        total.items_timed += part.items_timed
        total.worker_cpu_seconds += part.worker_cpu_seconds
        total.producer_cpu_seconds += part.producer_cpu_seconds
        _add(total.worker_cpu_by_kind, part.worker_cpu_by_kind)
        redis_cpu.append(part.redis_cpu_seconds)
        total.rss_along_run += [
            ((index + share) / len(parts), kib) for share, kib in part.rss_along_run
        ]
        for stage, size in part.queue_bytes_per_item.items():
            total.queue_bytes_per_item[stage] = max(size, total.queue_bytes_per_item.get(stage, 0))
        total.stored |= part.stored
        total.redis_url, total.store_url = part.redis_url, part.store_url
    total.rss_along_run = _nearest_tenths(total.rss_along_run)
    if redis_cpu and None not in redis_cpu:
        total.redis_cpu_seconds = sum(s for s in redis_cpu if s is not None)
    return total


def run_sluice(
    chunks: list[list[BenchPage]],
    options: SluiceOptions,
    work_dir: Path,
    progress: Callable[[str], None] = lambda line: print(line, file=sys.stderr),
    between: Callable[[int], None] = lambda _index: None,
) -> SluiceResult:
    """Start a cluster, submit each chunk of pages as a job of its own and wait until all its
    items are final, calling ``between(n)`` after the n-th chunk but the last (with the
    workers idle); measure, and stop the cluster again."""
    with contextlib.ExitStack() as stack:
        store_url = stack.enter_context(fresh_store(options.database_url, work_dir, options.keep))
        cluster = cluster_for(options.redis_url, store_url, work_dir, options.chain_stages)
        upgrade_database(store_url)

        stack.callback(cluster.stop)
        args = ["--stages", ",".join(options.stages)]
        if options.concurrency:
            args += ["--concurrency", str(options.concurrency)]
        for _ in range(options.workers):
            cluster.start_worker(*args)
        kinds = bool(by_pool(Pool.THREADS, options.stages)) + bool(
            by_pool(Pool.PREFORK, options.stages)
        )
        cluster.wait_ready(options.stages, timeout=120, nodes=options.workers * kinds)
        processes = ProcessWatch(cluster)
        progress(f"  sluice: {len(processes.pids())} worker processes ready")

        parts = []
        for index, pages in enumerate(chunks):
            parts.append(_run_part(pages, processes, options, store_url, progress))
            progress(f"  sluice, part {index + 1} of {len(chunks)}: {parts[-1].seconds:.1f} s")
            if index < len(chunks) - 1:
                between(index)
        result = merge_parts(parts)
        result.worker_rss = [
            (processes.labels[pid], rss) for pid, rss in sorted(processes.peak_rss.items())
        ]
    return result
