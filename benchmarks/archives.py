"""Archives in, data out: WARC ingestion memory, export speed and memory, search latency.

``warc``: writes a WARC of at least ``--warc-mb`` MB from the corpus (request, response and
metadata records with realistic headers, each page made unique), then ingests it with
``producers.warc.ingest_warcs`` into a fresh SQLite store, backpressure off and no workers
(the producer alone is measured: what the pipeline does with the items is the throughput
benchmark's business). Prints records/s, MB/s and the process's RSS at each tenth of the
file, and its peak.

``store``: puts ``--articles`` articles (corpus texts with a third of their words altered,
entities) into a fresh SQLite store and, with ``--database-url``, a fresh PostgreSQL
database; then times ``sluice export`` in each format (rows/s, peak RSS of the process) at
a tenth of the rows and at all of them, and ``articles search`` over ``--queries`` queries
(p50 and p95 ms, with and without an entity filter).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.corpus import default_corpus
from benchmarks.time_limit import add_time_limit, arm, time_limited
from benchmarks.warcs import write_warc

REPO = Path(__file__).resolve().parents[1]

_WORD = re.compile(r"[A-Za-z]{4,}")


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _env(**values: str) -> None:
    for name, value in values.items():
        os.environ[f"SLUICE_{name.upper()}"] = value
    from sluice.shared.settings import get_settings

    get_settings.cache_clear()


def bench_warc(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    pages = [gzip.decompress(p.read_bytes()) for p in sorted(Path(args.corpus).glob("*.html.gz"))]
    path = work / "big.warc.gz"
    target = args.warc_mb * 1_000_000

    def unique() -> Any:
        n = 0
        while True:
            for body in pages:
                yield f"https://news{n % 97}.example/{n}.html", body + f"<!-- {n} -->".encode()
                n += 1

    started = time.perf_counter()
    stream = unique()
    records = written = 0
    # Written in slices until the file passes the target size.
    with open(path, "wb"):
        pass
    slices = []
    while written < target:
        part = work / f"slice-{len(slices)}.warc.gz"
        count, size = write_warc(part, (next(stream) for _ in range(2000)))
        slices.append(part)
        records += count
        written += size
    with open(path, "wb") as out:
        for part in slices:
            out.write(part.read_bytes())
            part.unlink()
    made = time.perf_counter() - started
    print(f"warc: {written / 1e6:.0f} MB, {records} records, written in {made:.0f} s", flush=True)

    _env(
        database_url=f"sqlite:///{work / 'warc-store.db'}",
        redis_url=args.redis_url,
        queue_high_water="0",
        queue_low_water="0",
    )
    from sluice.producers.warc import IngestProgress, ingest_warcs

    samples: list[tuple[float, float]] = []
    base = _rss_mib()

    def progress(p: IngestProgress) -> None:
        samples.append((p.position / written, _rss_mib()))

    started = time.perf_counter()
    job = ingest_warcs([str(path)], progress=progress)
    seconds = time.perf_counter() - started
    tenths = {}
    for fraction, rss in samples:
        tenth = min(10, int(fraction * 10) + 1)
        tenths[tenth] = max(tenths.get(tenth, 0.0), rss)
    last = samples[-1] if samples else (1.0, 0.0)
    figures = {
        "warc_mb": round(written / 1e6),
        "records": records,
        "seconds": round(seconds, 1),
        "records_per_s": round(records / seconds),
        "mb_per_s": round(written / 1e6 / seconds, 1),
        "rss_before_mib": round(base),
        "rss_mib_by_tenth": {k: round(v) for k, v in sorted(tenths.items())},
        "rss_end_mib": round(last[1]),
        "peak_rss_mib": round(_peak_mib()),
        "job": job,
    }
    from redis import Redis

    from sluice.shared.queues import queue_keys

    client = Redis.from_url(args.redis_url)
    client.delete(*queue_keys("extract"))
    path.unlink()
    return figures


def _texts(corpus: Path) -> list[str]:
    truth = json.loads((corpus.parent / "ground-truth.json").read_text())
    return [v["articleBody"] for v in truth.values() if v.get("articleBody")]


def _populate(url: str, count: int, corpus: Path, seed: int) -> tuple[list[str], list[str]]:
    """``count`` articles in ``url``'s store; returns the vocabulary for queries, and the
    entity names (the first is an ``ORG`` of many articles)."""
    from sqlalchemy import insert

    from sluice.shared.db import upgrade_database
    from sluice.shared.db.engine import insert_for, session_scope
    from sluice.shared.db.schema import articles, entities, jobs

    upgrade_database(url)
    rng = random.Random(seed)
    texts = _texts(corpus)
    vocabulary = sorted({w.lower() for t in texts for w in _WORD.findall(t)})
    names = [w for t in texts for w in re.findall(r"\b[A-Z][a-z]{3,}\b", t)][:5000]
    with session_scope(url) as conn:
        conn.execute(insert(jobs).values(id="bench", total=count))
    batch = 2000
    for start in range(0, count, batch):
        rows, spans = [], []
        for n in range(start, min(count, start + batch)):
            words = texts[n % len(texts)].split(" ")
            for i in rng.sample(range(len(words)), len(words) // 3):
                words[i] = rng.choice(vocabulary)
            text = " ".join(words)
            article_id = uuid.UUID(int=rng.getrandbits(128)).hex
            rows.append(
                {
                    "id": article_id,
                    "job_id": "bench",
                    "url": f"https://site{n % 50}.example/{n}.html",
                    "canonical_url": f"https://site{n % 50}.example/{n}.html",
                    "title": " ".join(rng.choice(vocabulary) for _ in range(7)).capitalize(),
                    "date": f"2026-{n % 12 + 1:02d}-{n % 28 + 1:02d}",
                    "sitename": f"Site {n % 50}",
                    "language": "en",
                    "text": text,
                    "duplicate_of": None,
                    "entities_truncated": False,
                    "timings": {},
                }
            )
            for k in range(8):
                name = names[(n * 8 + k) % len(names)]
                at = text.find(name)
                label = ("ORG", "PERSON", "GPE")[k % 3]
                spans.append(
                    {
                        "article_id": article_id,
                        "text": name,
                        "label": label,
                        "start_char": at if at >= 0 else 10_000_000 + k,
                        "end_char": (at if at >= 0 else 10_000_000 + k) + len(name),
                    }
                )
        with session_scope(url) as conn:
            conn.execute(insert(articles), rows)
            conn.execute(insert_for(conn, entities).on_conflict_do_nothing(), spans)
    return vocabulary, names


def _export(url: str, fmt: str, out: Path, limit_job: bool = False) -> tuple[float, float, int]:
    code = (
        "import resource, sys, time\n"
        "from cli.main import build_parser, main\n"
        "build_parser()  # the commands' imports, out of the timing\n"
        "started = time.perf_counter()\n"
        f"rc = main(['-q', 'export', '--format', '{fmt}', '-o', '{out}', '--entities'])\n"
        "print(time.perf_counter() - started, file=sys.stderr)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "SLUICE_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO
    )
    if done.returncode:
        raise RuntimeError(done.stderr)
    lines = done.stderr.strip().splitlines()
    rows = int(lines[-3].split()[0].replace(",", ""))
    return float(lines[-2]), int(lines[-1]) / 1024, rows


def _search_latency(
    url: str, vocabulary: list[str], queries: int, seed: int, entity: str | None = None
) -> dict[str, float]:
    from sluice.shared.search import SearchQuery, search

    rng = random.Random(seed)
    times = []
    for _ in range(queries):
        words = " ".join(rng.choice(vocabulary) for _ in range(rng.choice((1, 2))))
        ents = (("ORG", entity),) if entity else ()
        started = time.perf_counter()
        search(SearchQuery(words, ents, limit=20), url)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
    }


def bench_store(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    with contextlib.ExitStack() as stack:
        stores = {"sqlite": f"sqlite:///{work / 'articles.db'}"}
        if args.database_url:
            from tests.support.services import fresh_store

            stores["postgresql"] = stack.enter_context(fresh_store(args.database_url, work, False))
        return _bench_stores(args, work, stores)


def _bench_stores(args: argparse.Namespace, work: Path, stores: dict[str, str]) -> dict[str, Any]:
    from sluice.shared.db.engine import get_engine

    figures: dict[str, Any] = {}
    for name, url in stores.items():
        started = time.perf_counter()
        vocabulary, names = _populate(url, args.articles, Path(args.corpus), args.seed)
        loaded = time.perf_counter() - started
        print(f"{name}: {args.articles} articles stored in {loaded:.0f} s", flush=True)
        result: dict[str, Any] = {"load_seconds": round(loaded)}
        for fmt in ("jsonl", "parquet", "csv"):
            out = work / f"export.{fmt}"
            seconds, peak, rows = _export(url, fmt, out)
            result[fmt] = {
                "rows": rows,
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
                "peak_rss_mib": round(peak),
                "mb": round(out.stat().st_size / 1e6),
            }
            out.unlink()
            print(f"  export {fmt}: {result[fmt]}", flush=True)
        result["search"] = _search_latency(url, vocabulary, args.queries, args.seed)
        result["search_entity"] = _search_latency(
            url, vocabulary, args.queries, args.seed, entity=names[0]
        )
        print(f"  search: {result['search']} with --entity: {result['search_entity']}", flush=True)
        figures[name] = result
        get_engine(url).dispose()
    return figures


@time_limited("archives")
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.archives", description=__doc__)
    p.add_argument("what", choices=("warc", "store"))
    p.add_argument("--corpus", default=str(default_corpus()))
    p.add_argument("--warc-mb", type=int, default=1000, help="WARC size to ingest (MB)")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--articles", type=int, default=100_000)
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--database-url", default=None, help="PostgreSQL server for the store run")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", type=Path, default=None)
    add_time_limit(p, 7200)
    args = p.parse_args(argv)
    arm(args.time_limit)
    with tempfile.TemporaryDirectory(prefix="sluice-archives-") as tmp:
        work = Path(tmp)
        data = bench_warc(args, work) if args.what == "warc" else bench_store(args, work)
    print(json.dumps(data, indent=2))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
