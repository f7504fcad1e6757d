"""Memory of each stage's worker processes after real work: what to plan per process.

    python -m benchmarks.stage_memory [--articles N] [--concurrency C] [--redis-url URL]

Starts one ``sluice worker --stages STAGE`` per stage (as docker-compose.yml does) on a
Redis database reserved for the run and a fresh SQLite store, submits the corpus pages
(``/work/shared/corpus``-style directory of gzipped HTML, see ``benchmarks/corpus.py``) as
HTML, waits until every item is final, and prints for every process its resident set
(RSS), its proportional share (PSS, shared pages divided among their users), its own
pages (USS, private clean + dirty) and its peak RSS, all in MiB. Prefork pool processes
share the pages their parent loaded before forking, so RSS overstates what each costs;
USS is what one more process adds.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchmarks.corpus import build_pages, default_corpus, load_corpus
from benchmarks.distributed import _RunWatch, _Submission, _wait_final, cluster_for
from benchmarks.processes import ProcessWatch, memory_of
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.db import upgrade_database
from sluice.shared.jobs import new_job_id
from sluice.workers.pipeline import STAGES
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main"]


def _report(processes: ProcessWatch) -> None:
    print(f"{'stage':8} {'process':34} {'RSS':>6} {'PSS':>6} {'USS':>6} {'peak':>6}  (MiB)")
    for stage, process in zip(STAGES, processes.cluster.processes, strict=True):
        for pid in processes.tree(process.pid):
            figures = memory_of(pid)
            if figures is not None:
                print(
                    f"{stage:8} {processes.labels[pid][:34]:34} {figures['rss']:6} "
                    f"{figures['pss']:6} {figures['uss']:6} {figures['peak']:6}"
                )


@time_limited("stage_memory")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=181, help="pages to process")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per CPU stage")
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--redis-url", default=None, help="Redis server (default: local)")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}: nothing to measure")
        return 0
    pages = build_pages(load_corpus(args.corpus), args.articles)

    with tempfile.TemporaryDirectory(prefix="sluice-memory-") as tmp:
        work = Path(tmp)
        with (
            redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
            fresh_store(None, work) as store_url,
        ):
            upgrade_database(store_url)
            cluster = cluster_for(redis_url, store_url, work, chain_stages="off")
            processes = ProcessWatch(cluster)
            try:
                for stage in STAGES:
                    cluster.start_worker("--stages", stage, "--concurrency", str(args.concurrency))
                cluster.wait_ready(STAGES, timeout=120, nodes=len(STAGES))
                print("idle, after start:")
                _report(processes)
                started = time.monotonic()
                submission = _Submission(pages, new_job_id())
                submission.start()
                watch = _RunWatch(processes, redis_url, len(pages))
                counts = _wait_final(submission, watch, stall_timeout=300, progress=print)
                watch.close()
                print(
                    f"\n{counts['final']} items final in {time.monotonic() - started:.1f} s "
                    f"({counts['states']}); after the work:"
                )
                _report(processes)
            finally:
                cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
