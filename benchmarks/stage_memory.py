"""Memory of each stage's worker processes after real work: what to plan per process.

    python benchmarks/stage_memory.py [--articles N] [--concurrency C] [--redis-url URL]

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

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import tempfile
import time

from benchmarks.corpus import build_pages, default_corpus, load_corpus
from benchmarks.distributed import _configure, _wait_final, _wait_ready
from benchmarks.services import WorkerGroup, _children, _describe, fresh_store, isolated_redis
from shared.db import upgrade_database
from workers.pipeline import STAGES

__all__ = ["main", "memory_of"]


def memory_of(pid: int) -> dict[str, int] | None:
    """RSS, PSS, USS and peak RSS of ``pid`` in MiB (``None`` once it is gone)."""
    try:
        rollup = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
        status = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    kib = {}
    for line in rollup + status:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            kib[parts[0].rstrip(":")] = int(parts[1])
    return {
        "rss": kib["Rss"] // 1024,
        "pss": kib["Pss"] // 1024,
        "uss": (kib["Private_Clean"] + kib["Private_Dirty"]) // 1024,
        "peak": kib["VmHWM"] // 1024,
    }


def _report(group: WorkerGroup, stages: dict[int, str]) -> None:
    children = _children()
    print(f"{'stage':8} {'process':34} {'RSS':>6} {'PSS':>6} {'USS':>6} {'peak':>6}  (MiB)")
    for index, process in enumerate(group.processes):
        pending = [process.pid]
        while pending:
            pid = pending.pop(0)
            pending.extend(children.get(pid, []))
            figures = memory_of(pid)
            if figures is None:
                continue
            print(
                f"{stages[index]:8} {_describe(pid)[:34]:34} {figures['rss']:6} "
                f"{figures['pss']:6} {figures['uss']:6} {figures['peak']:6}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=181, help="pages to process")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per CPU stage")
    parser.add_argument("--corpus", type=Path, default=default_corpus())
    parser.add_argument("--redis-url", default=None, help="Redis server (default: local)")
    args = parser.parse_args(argv)
    if not args.corpus.is_dir():
        print(f"no corpus at {args.corpus}: nothing to measure")
        return 0
    pages = build_pages(load_corpus(args.corpus), args.articles)

    from producers import submit_pages

    with tempfile.TemporaryDirectory(prefix="sluice-memory-") as tmp:
        work = Path(tmp)
        with (
            isolated_redis(args.redis_url, work) as redis_url,
            fresh_store(None, work, keep=False) as store_url,
        ):
            upgrade_database(store_url)
            env = _configure(redis_url, store_url, work)
            group = WorkerGroup(env, work)
            stages = {}
            try:
                for index, stage in enumerate(STAGES):
                    group.start("--stages", stage, "--concurrency", str(args.concurrency))
                    stages[index] = stage
                _wait_ready(group, len(STAGES), STAGES, timeout=120)
                print("idle, after start:")
                _report(group, stages)
                started = time.monotonic()
                job_id = submit_pages([(page.body, page.url) for page in pages])
                counts = _wait_final(job_id, group, stall_timeout=300, progress=print)
                print(
                    f"\n{counts['final']} items final in {time.monotonic() - started:.1f} s "
                    f"({counts['states']}); after the work:"
                )
                _report(group, stages)
            finally:
                group.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
