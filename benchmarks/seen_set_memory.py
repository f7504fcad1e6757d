"""Redis memory per URL of a site crawl's seen set (workers.crawl.seen), at 100k and 1M URLs.

URLs of one synthetic site, half ``http://site.test/section-<k>/<slug>-<n>.html`` and half
dated (``/YYYY/MM/DD/<slug>-<n>.html``, each a calendar-like pattern of its own), are claimed
through the real script with their patterns (:func:`workers.crawl.traps.pattern_of`) and the
default ``--max-per-pattern``, in batches of 100 as a page's links would be, with the bucket
count of a crawl whose ``--max-pages`` is the final count. So the figure covers the buckets,
the caps hash and the pattern filter. Memory is ``INFO memory`` ``used_memory``
after minus before, divided by the URLs held; ``MEMORY USAGE`` summed over the set's keys
is printed beside it (what the keys themselves take, without the server's per-key
dictionary overhead). The 10-million bound is extrapolated from the per-URL figure. By
default the run starts a Redis server of its own, so no other client's data blurs the
figure.

Run: ``.venv/bin/python -m benchmarks.seen_set_memory [--urls 1000000]``.
"""

from __future__ import annotations

import argparse
import sys
import time

import redis

from benchmarks.dedup_cost import private_server
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.workers.crawl import seen
from sluice.workers.crawl.scope import DEFAULT_MAX_PER_PATTERN
from sluice.workers.crawl.traps import pattern_of

JOB = "seenbench"


def _used(client: redis.Redis) -> int:
    return int(client.info("memory")["used_memory"])


def _url(n: int) -> str:
    if n % 2:
        return f"http://site.test/section-{n % 40}/story-about-things-{n}.html"
    return f"http://site.test/{2026 - n % 5}/{n % 12 + 1:02d}/{n % 28 + 1:02d}/story-{n}.html"


def _key_bytes(client: redis.Redis) -> tuple[int, int, str, dict[str, int]]:
    """MEMORY USAGE summed over the set's keys, their count, one bucket's encoding, and the
    bytes of the caps hash and the pattern filter."""
    total, keys, encoding = 0, 0, ""
    apart: dict[str, int] = {"caps": 0, "patterns": 0}
    for key in client.scan_iter(match=f"sluice:seen:{JOB}:*", count=5000):
        size = int(client.memory_usage(key, samples=0) or 0)
        total += size
        keys += 1
        name = key.rsplit(b":", 1)[1].decode()
        if name in apart:
            apart[name] = size
        elif not encoding:
            encoding = client.object("encoding", key).decode()
    return total, keys, encoding, apart


def run(url: str | None, checkpoints: list[int]) -> None:
    with private_server(url) as (redis_url, what):
        client = redis.Redis.from_url(redis_url)
        print(f"seen-set memory on {what}")
        for target in checkpoints:
            seen.forget(client, JOB)
            before = _used(client)
            buckets = seen.buckets_for(target)
            started = time.perf_counter()
            for start in range(0, target, 100):
                batch = [
                    seen.Claim(_url(n), "site.test", pattern_of(_url(n)))
                    for n in range(start, min(target, start + 100))
                ]
                seen.claim(
                    client,
                    JOB,
                    start // 100,
                    batch,
                    buckets=buckets,
                    max_pages=target,
                    pattern_cap=DEFAULT_MAX_PER_PATTERN,
                )
            took = time.perf_counter() - started
            held = seen.seen_size(client, JOB)
            used = _used(client) - before
            key_bytes, keys, encoding, apart = _key_bytes(client)
            print(
                f"{held:>10,} URLs in {keys:,} keys ({buckets:,} buckets, {encoding}): "
                f"used_memory +{used / 2**20:.1f} MiB = {used / held:.1f} B/URL; "
                f"MEMORY USAGE {key_bytes / held:.1f} B/URL (caps hash "
                f"{apart['caps'] / held:.2f}, pattern filter {apart['patterns'] / held:.2f}); "
                "10M URLs ≈ "
                f"{used / held * 10_000_000 / 2**20:,.0f} MiB; {held / took:,.0f} claims/s"
            )
        seen.forget(client, JOB)
        client.close()


@time_limited("seen_set_memory")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url",
        help="use this Redis instead (default: a private server; only the "
        "benchmark's own keys are written and deleted)",
    )
    parser.add_argument("--urls", type=int, default=1_000_000, help="the largest checkpoint")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    run(args.redis_url, sorted({min(100_000, args.urls), args.urls}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
