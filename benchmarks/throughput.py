"""Throughput of sluice against a plain loop over the same stage functions.

    python -m benchmarks.throughput [--articles N] [--json FILE] [--keep] ...

Both runs take the same article set, built from a directory of gzipped HTML pages
(repeated, with a sentence of its own in each repeat, to reach ``--articles``):

* baseline: extract, exact dedup, tag and store called directly, in this process or a
  ``multiprocessing`` pool, storing into a fresh store;
* sluice: ``sluice worker`` processes, a Redis database reserved for the run and a fresh
  store; every page is submitted as HTML and a part ends when every item of it is final.

The two take turns on one pool and one cluster (``--parts``, :mod:`benchmarks.schedule`),
so that both sample the same stretch of a machine whose speed drifts.

The last line printed is ``ratio sluice/baseline: X.XX`` (articles per second).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.baseline import Baseline
from benchmarks.corpus import REPO, build_pages, default_corpus, load_corpus
from benchmarks.distributed import SluiceOptions, run_sluice
from benchmarks.quality import compare, stored_articles
from benchmarks.report import figures, render
from benchmarks.schedule import interleave
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.settings import get_settings
from sluice.workers.pipeline import STAGES
from tests.support.services import BENCHMARK_DATABASES, fresh_store, redis_database

__all__ = ["main"]

# Pages are submitted as HTML: these stages take them from extraction to the store.
_NEEDED_STAGES = {"extract", "dedup", "tag", "store"}


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    cores = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.throughput",
        description="Process the same pages with a plain loop over sluice's stage functions "
        "and with the distributed pipeline (real workers, Redis, a fresh store), and compare "
        "articles per second.",
    )
    p.add_argument(
        "--corpus",
        type=Path,
        default=default_corpus(),
        help="directory of *.html.gz pages (default: ../shared/corpus/scrapinghub-aeb/html "
        "beside the repository)",
    )
    p.add_argument("--articles", type=int, default=2000, help="articles to process (default 2000)")
    p.add_argument(
        "--baseline-articles",
        type=int,
        default=None,
        help="run the baseline on the first N articles only, for long sluice runs (default all; "
        "the ratio then compares different article mixes)",
    )
    p.add_argument(
        "--baseline-procs",
        type=int,
        default=cores,
        help=f"baseline processes; 1 is a plain loop in this process (default {cores}, the cores)",
    )
    p.add_argument("--workers", type=int, default=1, help="'sluice worker' processes (default 1)")
    p.add_argument(
        "--concurrency", type=int, default=None, help="prefork processes per worker (default cores)"
    )
    p.add_argument(
        "--stages",
        default=",".join(STAGES),
        help="stages the workers serve (default all, as 'sluice worker' does)",
    )
    p.add_argument(
        "--redis-url",
        default=None,
        help="Redis server to use (a free database 1-15 on it is reserved for the run); default "
        "as the tests': SLUICE_TEST_REDIS_URL, 127.0.0.1:6379, else an embedded Valkey",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server URL: the run creates a fresh database beside this one "
        "(default: a fresh SQLite file)",
    )
    p.add_argument(
        "--chain",
        choices=("off", "light", "all"),
        default="all",
        help="the workers' SLUICE_CHAIN_STAGES (default all: each article goes from extract "
        "to store in one task, the throughput setup for workers serving every stage; off, the "
        "setting's default: one task per stage)",
    )
    p.add_argument(
        "--parts",
        type=int,
        default=4,
        help="sluice's articles run in this many parts, the baseline's before, between and "
        "after them (default 4; 1 brackets one sluice run with two halves of the baseline)",
    )
    p.add_argument(
        "--warc",
        action="store_true",
        help="sluice reads each part from a WARC file written from its pages (submit --warc) "
        "instead of taking the pages as HTML; the baseline gets the same pages",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the stores for inspection")
    p.add_argument(
        "--stall-timeout",
        type=float,
        default=300,
        help="give up when no item finishes for this many seconds (default 300)",
    )
    return p


@contextlib.contextmanager
def _work_dir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    try:
        yield path
    finally:
        if keep:
            _progress(f"kept: {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def _commit() -> str:
    """The repository's commit, with ``+dirty`` when the working tree has changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _stop_on_signals() -> None:
    """Let SIGTERM and SIGINT (even if inherited as ignored) unwind as KeyboardInterrupt,
    so that workers and servers are stopped."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def run(args: argparse.Namespace) -> dict[str, Any]:
    corpus = load_corpus(args.corpus)
    if not corpus:
        raise SystemExit(f"no *.html.gz pages in {args.corpus}")
    started = time.perf_counter()
    pages = build_pages(corpus, args.articles)
    repeats = [p for p in pages if p.copy]
    _progress(
        f"{len(pages)} articles from {len(corpus)} pages "
        f"(prepared in {time.perf_counter() - started:.1f} s)"
    )
    stages = tuple(s.strip() for s in args.stages.split(",") if s.strip())
    cores = os.cpu_count() or 1
    per_worker = args.concurrency or get_settings().worker_concurrency or cores
    load_before = os.getloadavg()[0]
    with (
        _work_dir(args.keep) as work_dir,
        redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url,
    ):
        # Redis is reserved first, so that a run without one fails before the long baseline.
        _progress(f"redis: {redis_url}")
        _progress(f"baseline: {args.baseline_procs} process(es)")
        baseline_pages = pages[: args.baseline_articles or len(pages)]
        chunks, portions = interleave(pages, baseline_pages, args.parts)
        baseline_dir = work_dir / "baseline"
        baseline_dir.mkdir()
        options = SluiceOptions(
            redis_url=redis_url,
            database_url=args.database_url,
            workers=args.workers,
            concurrency=args.concurrency,
            stages=stages,
            stall_timeout=args.stall_timeout,
            keep=args.keep,
            chain_stages=args.chain,
            warc=args.warc,
            warc_dir=work_dir,
        )
        with (
            fresh_store(args.database_url, baseline_dir, args.keep) as baseline_url,
            Baseline(args.baseline_procs, baseline_url) as plain,
        ):
            # The two sides take turns (benchmarks/schedule.py): a machine whose speed
            # drifts during the run then moves both alike.
            def baseline_part(index: int) -> None:
                part = plain.run(portions[index])
                _progress(
                    f"  baseline, part {index + 1} of {len(portions)}: "
                    f"{len(portions[index])} articles in {part.seconds:.1f} s"
                )

            baseline_part(0)
            _progress(f"sluice: {args.workers} worker(s), {per_worker} prefork processes each")
            sluice = run_sluice(
                chunks, options, work_dir, _progress, between=lambda n: baseline_part(n + 1)
            )
            baseline_part(len(portions) - 1)
            baseline = plain.result()
            baseline_stored = stored_articles(baseline_url)
        sluice_subset = {
            p.url: sluice.stored[p.url] for p in baseline_pages if p.url in sluice.stored
        }
        quality = compare(baseline_stored, sluice_subset)
        setup = {
            "corpus": str(args.corpus),
            "corpus_pages": len(corpus),
            "articles": len(pages),
            "baseline_articles": len(baseline_pages),
            "repeats": len(repeats),
            "cpus": cores,
            # Other work on the machine skews both runs: the 1-minute load average shows it.
            "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
            "commit": _commit(),
            "sluice_workers": f"{args.workers} x 'sluice worker --stages {','.join(stages)}', "
            f"{per_worker} prefork processes each, SLUICE_CHAIN_STAGES={args.chain}"
            + (", pages read from WARC files (submit --warc)" if args.warc else ""),
            "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        return figures(setup, baseline, sluice, args.workers * per_worker, quality.as_dict())


@time_limited("throughput")
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    add_time_limit(parser, 3600)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    if not args.corpus.is_dir():
        print(
            f"corpus directory not found: {args.corpus}\n"
            "give one with --corpus DIR (a directory of *.html.gz pages)",
            file=sys.stderr,
        )
        return 2
    stages = {s.strip() for s in args.stages.split(",") if s.strip()}
    if not stages <= set(STAGES) or not stages >= _NEEDED_STAGES:
        print(
            f"--stages must name stages of {','.join(STAGES)} and include "
            f"{','.join(sorted(_NEEDED_STAGES))}",
            file=sys.stderr,
        )
        return 2
    if min(args.articles, args.baseline_procs, args.workers, args.baseline_articles or 1) < 1:
        print(
            "--articles, --baseline-articles, --baseline-procs and --workers must be at least 1",
            file=sys.stderr,
        )
        return 2
    _stop_on_signals()
    try:
        data = run(args)
    except KeyboardInterrupt:
        print("interrupted: workers and services stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError, ValueError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    print(render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
