"""What the crawl benchmarks share: a cluster of fetch and pipeline workers, a job's items
and articles read from the store, and the Redis database's bytes."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.processes import ProcessWatch
from tests.support.cluster import Cluster

__all__ = [
    "JobItem",
    "Workers",
    "epoch",
    "job_id_of",
    "job_items",
    "job_states",
    "progress",
    "redis_bytes",
    "start_workers",
]

_JOB_ID = re.compile(r"^[0-9A-Za-z_-]{6,32}$")


def progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class Workers:
    """The run's worker processes: fetch workers and one pipeline worker, and a watch of
    their process trees' memory."""

    cluster: Cluster
    fetchers: list[Any]
    pipeline: list[Any]
    watch: ProcessWatch

    def rss_kib(self, processes: list[Any]) -> int:
        """The resident memory of these workers' process trees now (KiB)."""
        total = 0
        for process in processes:
            if process.poll() is not None:
                continue
            for pid in self.watch.tree(process.pid):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total


def start_workers(
    cluster: Cluster, fetchers: int, threads: int, processes: int, timeout: float = 180
) -> Workers:
    """``fetchers`` fetch workers of ``threads`` threads and one worker of ``processes``
    prefork processes for extract, dedup, tag and store; ready when this returns."""
    for n in range(fetchers):
        cluster.start_worker("--stages", "fetch", "--concurrency", str(threads), "--name", f"f{n}")
    cluster.start_worker("--stages", "extract,dedup,tag,store", "--concurrency", str(processes))
    cluster.wait_ready(timeout=timeout, nodes=fetchers + 1)
    return Workers(
        cluster,
        cluster.processes[:fetchers],
        cluster.processes[fetchers:],
        ProcessWatch(cluster),
    )


def job_id_of(stdout: str) -> str:
    """The job id ``sluice submit`` printed: a JSON object's ``job``, or its first line."""
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                job = json.loads(line).get("job")
            except ValueError:
                continue
            if isinstance(job, str):
                return job
        elif _JOB_ID.match(line):
            return line
    raise RuntimeError(f"no job id in sluice submit's output:\n{stdout}")


def epoch(value: Any) -> float:
    """A stored timestamp as seconds since the epoch (SQLite's have no zone: UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return float(value.timestamp())


@dataclass(frozen=True, slots=True)
class JobItem:
    url: str
    state: str
    reason: str | None
    depth: int | None


def job_items(database_url: str, job_id: str) -> list[JobItem]:
    """Every item of ``job_id``: its URL, state, reason and crawl depth."""
    from sqlalchemy import select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import items

    with read_scope(database_url) as conn:
        rows = conn.execute(
            select(items.c.source, items.c.state, items.c.reason, items.c.depth).where(
                items.c.job_id == job_id
            )
        ).all()
    return [JobItem(str(r[0] or ""), str(r[1]), r[2], r[3]) for r in rows]


def job_states(database_url: str, job_id: str) -> dict[str, int]:
    """How many items of ``job_id`` are in each state, counted by the store: cheap enough to
    ask every second without starving the site's server threads in the same process."""
    from sqlalchemy import func, select

    from sluice.shared.db.engine import read_scope
    from sluice.shared.db.schema import items

    with read_scope(database_url) as conn:
        rows = conn.execute(
            select(items.c.state, func.count())
            .where(items.c.job_id == job_id)
            .group_by(items.c.state)
        ).all()
    return {str(state): int(count) for state, count in rows}


def redis_bytes(client: Any) -> dict[str, int]:
    """Bytes of the run's Redis database by key family (the key's name up to its last
    ``:``-separated part that is no number, hex digest or bucket), from ``MEMORY USAGE``; the key
    that reserves the database for the run is left out."""
    keys = list({k for k in client.scan_iter(count=1000) if not k.startswith(b"sluice-test:")})
    families: dict[str, int] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        pipe = client.pipeline(transaction=False)
        for key in chunk:
            pipe.memory_usage(key)
        for key, size in zip(chunk, pipe.execute(), strict=True):
            family = _family(key.decode(errors="replace"))
            families[family] = families.get(family, 0) + int(size or 0)
    return families


def _family(key: str) -> str:
    parts = key.split(":")
    while len(parts) > 1 and (
        re.fullmatch(r"[0-9a-f]*[0-9][0-9a-f]*", parts[-1]) or len(parts[-1]) > 24
    ):
        parts.pop()
    return ":".join(parts)
