"""How long the feed and sitemap reader takes on documents of the sizes the wild serves.

Times :mod:`workers.feeds.reader` in-process, no network: a sitemap of ``--urls`` URLs
(with ``lastmod``) plain, gzipped, and cut inside its last URL (read again in small pieces,
as every damaged document is), and an RSS feed of ``--entries`` items. Each case runs
``--runs`` times in turns; the median and the fastest are printed, with the URLs read.

    python -m benchmarks.feed_reading --urls 50000 --entries 200 --runs 5
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import time
from collections.abc import Callable

from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.workers.feeds.reader import Document, read_feed, read_sitemap

__all__ = ["main"]

_BASE = "http://127.0.0.2/"
_SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _sitemap(urls: int) -> bytes:
    rows = "".join(
        f"<url><loc>{_BASE}news/2026/12/article-{n}.html</loc>"
        f"<lastmod>2026-11-30T10:00:00+00:00</lastmod></url>"
        for n in range(urls)
    )
    return f'<?xml version="1.0"?><urlset xmlns="{_SITEMAP_NS}">{rows}</urlset>'.encode()


def _rss(entries: int) -> bytes:
    items = "".join(
        f"<item><title>Story {n} &amp; more</title><link>{_BASE}s/{n}.html</link>"
        f'<guid isPermaLink="false">g{n}</guid><pubDate>Tue, 01 Dec 2026 10:00:00 GMT</pubDate>'
        f"<description>&lt;p&gt;text {n}&lt;/p&gt;</description></item>"
        for n in range(entries)
    )
    channel = f"<channel><title>t</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


@time_limited("feed_reading")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--urls", type=int, default=50_000, help="URLs in the sitemap")
    parser.add_argument("--entries", type=int, default=200, help="items in the RSS feed")
    parser.add_argument("--runs", type=int, default=5)
    add_time_limit(parser, 600)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    sitemap = _sitemap(args.urls)
    zipped = gzip.compress(sitemap, 6)
    cut = sitemap[: sitemap.rindex(b"</loc>") - 3]
    rss = _rss(args.entries)
    cases: dict[str, Callable[[], Document]] = {
        f"sitemap, {args.urls:,} URLs ({len(sitemap) / 1e6:.1f} MB)": lambda: read_sitemap(
            sitemap, _BASE
        ),
        "the same, gzipped": lambda: read_sitemap(zipped, _BASE),
        "the same, cut in its last URL": lambda: read_sitemap(cut, _BASE),
        f"RSS, {args.entries} items": lambda: read_feed(rss, _BASE),
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    read: dict[str, int] = {}
    for _ in range(args.runs):
        for name, run in cases.items():
            started = time.perf_counter()
            read[name] = len(run().entries)
            times[name].append(time.perf_counter() - started)
    for name, spent in times.items():
        print(
            f"{name:42s} median {1000 * statistics.median(spent):8.1f} ms"
            f"  fastest {1000 * min(spent):8.1f} ms  entries {read[name]:,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
