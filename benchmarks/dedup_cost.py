"""What the dedup index costs as the corpus grows: Redis memory per indexed article and time
per dedup decision at 1k, 10k and 100k articles (targets: ≤ 1 KB, flat and under 5 ms).

Synthetic articles (300-600 words drawn from a Zipf-like vocabulary, each at its own URL) go
through the real ``dedup`` stage one by one. Memory is ``INFO memory`` ``used_memory`` after
the inserts minus before, divided by the articles indexed, so it counts everything the index
keeps: claims, exact text fingerprints, LSH bands and signatures. By default the run starts
a Redis server of its own (``redis-server`` on PATH, else the embedded Valkey) so that no
other client's data blurs the figure.

At each checkpoint the script also times decisions that do not grow the index: near
duplicates (an indexed article with a sentence added and one removed) and exact duplicates
(the same text at another URL), and reports how many were recognised.

Run: ``.venv/bin/python -m benchmarks.dedup_cost [--articles 100000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import numpy as np
import redis

from benchmarks.stats import percentile
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.article import Article
from sluice.shared.fingerprints import fingerprint
from sluice.shared.identity import article_id_for_url
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.stages.dedup import dedup

__all__ = ["main"]

_SYLLABLES = ("ka", "to", "ri", "mon", "sel", "da", "vin", "eth", "or", "lu", "pa", "gre", "sti")


class Corpus:
    """Reproducible synthetic articles: article ``n`` is always the same text."""

    def __init__(self, seed: int, vocabulary: int = 30_000) -> None:
        rng = np.random.default_rng(seed)
        self.seed = seed
        words = set()
        while len(words) < vocabulary:
            parts = rng.integers(0, len(_SYLLABLES), size=rng.integers(1, 5))
            words.add("".join(_SYLLABLES[p] for p in parts) + str(len(words) % 7))
        self.words = np.array(sorted(words))
        weights = 1.0 / np.arange(1, vocabulary + 1)
        self.weights = weights / weights.sum()

    def sentences(self, n: int) -> list[str]:
        rng = np.random.default_rng((self.seed, n))
        count = int(rng.integers(300, 601))
        tokens = self.words[rng.choice(len(self.words), size=count, p=self.weights)]
        cuts = np.cumsum(rng.integers(8, 25, size=count // 8 + 1))
        pieces = np.split(tokens, cuts[cuts < count])
        return [" ".join(piece).capitalize() + "." for piece in pieces if len(piece)]

    def article(self, n: int) -> Article:
        url = f"https://site{n % 97}.example/news/{n}.html"
        text = " ".join(self.sentences(n))
        return Article("cost", n, id=article_id_for_url(url), url=url, canonical_url=url, text=text)

    def near_copy(self, n: int, tag: str) -> Article:
        """Article ``n`` with its second sentence removed and a sentence added, elsewhere."""
        sentences = self.sentences(n)
        del sentences[1]
        sentences.insert(len(sentences) // 2, "This story has been updated with more details.")
        url = f"https://mirror.example/{tag}/{n}.html"
        return Article(
            "cost",
            n,
            id=article_id_for_url(url),
            url=url,
            canonical_url=url,
            text=" ".join(sentences),
        )

    def exact_copy(self, n: int, tag: str) -> Article:
        original = self.article(n)
        url = f"https://copy.example/{tag}/{n}.html"
        original.url = original.canonical_url = url
        original.id = article_id_for_url(url)
        return original


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def private_server(url: str | None) -> Iterator[tuple[str, str]]:
    """A Redis URL nobody else writes to, and what serves it."""
    if url:
        yield url, f"given server {url} (other clients' data blurs the memory figure)"
        return
    binary = shutil.which("redis-server")
    if binary is None:
        from sluice.shared.embedded_redis import EmbeddedRedis

        server = EmbeddedRedis()
        try:
            yield server.url, "embedded Valkey"
        finally:
            server.stop()
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as workdir:
        process = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            client = redis.Redis(port=port)
            for _ in range(100):
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        break
                time.sleep(0.05)
            version = client.info("server")["redis_version"]
            client.close()
            yield f"redis://127.0.0.1:{port}/0", f"redis-server {version} (default config)"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _used_memory(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _memory_by_kind(client: redis.Redis) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key in client.scan_iter("sluice:*", count=1000):
        kind = key.decode().split(":")[1]
        totals[kind] = totals.get(kind, 0) + (client.memory_usage(key, samples=0) or 0)
    return totals


def _script_usec(client: redis.Redis) -> float:
    """Microseconds Redis spent per script call since the last ``CONFIG RESETSTAT``."""
    stats = client.info("commandstats")
    calls = [v for k, v in stats.items() if k in ("cmdstat_evalsha", "cmdstat_eval")]
    total = sum(v["usec"] for v in calls)
    return total / max(1, sum(v["calls"] for v in calls))


def _ping_ms(client: redis.Redis, count: int = 200) -> float:
    """Median round trip of a PING: what the machine's load adds to every call."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        client.ping()
        times.append(time.perf_counter() - started)
    return _ms(times, 0.5)


def _timed(article: Article, index: DedupIndex) -> tuple[float, float]:
    """Seconds for the whole decision, and for the fingerprint alone (computed again)."""
    started = time.perf_counter()
    dedup(article, index)
    total = time.perf_counter() - started
    started = time.perf_counter()
    fingerprint(article.text, index.layout)
    return total, time.perf_counter() - started


def _ms(values: list[float], q: float) -> float:
    return 1000 * (percentile(values, q) or 0.0)


@time_limited("dedup_cost")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--checkpoints", default="1000,10000,100000")
    parser.add_argument("--probes", type=int, default=300, help="timed copies per checkpoint")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--redis-url", help="use this Redis database instead (its sluice dedup keys are deleted)"
    )
    add_time_limit(parser, 3600)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    checkpoints = sorted(int(c) for c in args.checkpoints.split(",") if int(c) <= args.articles)
    corpus = Corpus(args.seed)

    with private_server(args.redis_url) as (url, server):
        client = redis.Redis.from_url(url)
        index = DedupIndex(client)
        index.clear()
        print(f"server: {server}; layout: {index.layout.stamp} threshold={index.layout.threshold}")
        # Load the scripts and warm the caches, then take the baseline.
        warm = corpus.article(10**9)
        dedup(warm, index)
        index.clear()
        baseline = _used_memory(client)
        print(
            f"{'articles':>9} {'bytes/article':>13} {'keys':>6} {'original ms p50/p95':>20} "
            f"{'(fingerprint p50)':>17} {'(in Redis)':>10} {'near ms p50/p95':>16} {'found':>7} "
            f"{'exact ms p50':>12} {'found':>7} {'ping ms':>7}"
        )
        window: list[tuple[float, float]] = []
        indexed = 0
        started = time.perf_counter()
        for checkpoint in checkpoints:
            while indexed < checkpoint:
                if checkpoint - indexed == args.probes:
                    client.config_resetstat()
                article = corpus.article(indexed)
                timing = _timed(article, index)
                if checkpoint - indexed <= args.probes:
                    window.append(timing)
                if article.duplicate_of is not None:
                    print(f"  note: synthetic article {indexed} judged a duplicate")
                indexed += 1
            server_us = _script_usec(client)
            ping = _ping_ms(client)
            per_article = (_used_memory(client) - baseline) / indexed
            keys = client.dbsize()
            before = _used_memory(client)
            near, exact = [], []
            near_found = exact_found = 0
            rng = np.random.default_rng(checkpoint)
            for n in rng.choice(indexed, size=min(args.probes, indexed), replace=False):
                copy = corpus.near_copy(int(n), f"c{checkpoint}")
                near.append(_timed(copy, index)[0])
                near_found += copy.duplicate_of == article_id_for_url(corpus.article(int(n)).url)
                copy = corpus.exact_copy(int(n), f"c{checkpoint}")
                exact.append(_timed(copy, index)[0])
                exact_found += copy.similarity == 1.0
            probes = len(near)
            totals = [t for t, _ in window]
            prints = [f for _, f in window]
            print(
                f"{indexed:>9} {per_article:>13.0f} {keys:>6} "
                f"{_ms(totals, 0.5):>9.2f} / {_ms(totals, 0.95):>6.2f} "
                f"{_ms(prints, 0.5):>17.2f} {server_us / 1000:>10.2f} "
                f"{_ms(near, 0.5):>7.2f} / {_ms(near, 0.95):>6.2f} {near_found:>3}/{probes:<3} "
                f"{_ms(exact, 0.5):>12.2f} {exact_found:>3}/{probes:<3} {ping:>7.3f}"
            )
            # Copies add claims (not index entries): leave them out of the next memory figure.
            baseline += _used_memory(client) - before
            window = []
        elapsed = time.perf_counter() - started
        by_kind = _memory_by_kind(client)
        total = sum(by_kind.values())
        print(
            "memory by kind at the end (MEMORY USAGE, bytes/article): "
            + ", ".join(f"{k} {v / indexed:.0f}" for k, v in sorted(by_kind.items()))
            + f"; total {total / indexed:.0f}"
        )
        print(
            f"{indexed} articles in {elapsed:.0f} s; decision times are the whole dedup() call "
            "(fingerprint + one Lua round trip); median over the last "
            f"{args.probes} originals before each checkpoint"
        )
        index.clear()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
