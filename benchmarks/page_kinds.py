"""Hubs and articles on the wcxb-dev corpus: how well a crawl tells them apart.

The corpus has 900 pages labelled ``article`` (711) or ``listing``/``collection`` (189, the
hubs: section fronts, category, tag and shop pages). "Is an article" is the positive class:
precision is the share of pages called articles that are articles (a hub stored as an
article lowers it), recall the share of articles called articles (an article only followed
as a hub lowers it). Rows:

* **page_kind**: :func:`workers.crawl.page_kind.page_kind` on the page and its URL;
* **url only**: :func:`workers.crawl.page_kind.url_looks_like_article` on the URL alone,
  what a watched section page knows of a link before fetching it;
* **og:type article**: the page's ``og:type`` alone, for comparison;
* **trafilatura text**: trafilatura finds at least 1,000 characters of main text (with
  ``--trafilatura``; it costs several times page_kind's time).

The pages are split in two halves by a hash of their domain (as in
:mod:`benchmarks.metadata_quality`), so no site is in both: page_kind's weights are fitted on
the *dev* half (``--fit`` refits and prints them), and *held-out* shows how they carry over
to sites never seen. The URL rules were drafted from a look at the URLs of all pages, then
tuned on the dev half's misses only.

Run: ``.venv/bin/python -m benchmarks.page_kinds`` (exits 0 with a message when the corpus is
absent; ``--corpus DIR`` reads it elsewhere).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.corpus import REPO
from benchmarks.metadata_quality import half_of
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.workers.crawl.page_kind import ARTICLE, features, page_kind, url_looks_like_article
from sluice.workers.crawl.page_signals import PageSignals, read_page_signals
from sluice.workers.stages.extract import decode_html

__all__ = ["Counts", "Page", "fit", "load_pages", "main"]

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "wcxb-dev"
HALVES = ("dev", "held-out")
_MAIN_TEXT = 1000  # characters of trafilatura's main text that make the baseline say article


@dataclass(frozen=True, slots=True)
class Page:
    """One corpus page: its name, URL, domain, whether it is an article, and its HTML."""

    name: str
    url: str
    domain: str
    article: bool
    html: str


@dataclass
class Counts:
    """Calls against the truth, "is an article" positive."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)

    def add(self, said_article: bool, is_article: bool) -> None:
        if said_article:
            self.tp += is_article
            self.fp += not is_article
        else:
            self.fn += is_article
            self.tn += not is_article

    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def cell(self) -> str:
        return f"{self.precision():6.3f} {self.recall():6.3f}  ({self.fp:>2} fp {self.fn:>3} fn)"


def load_pages(corpus: Path) -> list[Page]:
    """Every page of the corpus, in name order."""
    files = json.loads((corpus / "metadata.json").read_text())["files"]
    pages = []
    for name in sorted(files):
        record = json.loads((corpus / "ground-truth" / f"{name}.json").read_text())
        body = gzip.decompress((corpus / "html" / f"{name}.html.gz").read_bytes())
        pages.append(
            Page(
                name,
                record.get("url") or f"https://corpus.sluice.invalid/{name}",
                files[name]["domain"],
                files[name]["page_type"] == ARTICLE,
                decode_html(body),
            )
        )
    return pages


def fit(
    rows: Iterable[tuple[dict[str, float], bool]], l2: float = 0.001, steps: int = 20_000
) -> tuple[float, dict[str, tuple[float, float]]]:
    """A logistic model of "is an article" on centred features: the bias and, by feature,
    its mean and weight (the form :mod:`workers.crawl.page_kind` keeps them in)."""
    rows = list(rows)
    names = list(rows[0][0])
    x = np.array([[values[n] for n in names] for values, _ in rows], dtype=float)
    y = np.array([label for _, label in rows], dtype=float)
    means = x.mean(axis=0)
    x = np.hstack([np.ones((len(x), 1)), x - means])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (p - y) / len(y) + l2 * np.r_[0.0, w[1:]]
        w -= gradient
    return float(w[0]), {
        n: (float(m), float(v)) for n, m, v in zip(names, means, w[1:], strict=True)
    }


def _trafilatura_says_article(page: Page) -> bool:
    import trafilatura  # only with --trafilatura

    document = trafilatura.bare_extraction(
        page.html, url=page.url, include_comments=False, include_tables=False, fast=True
    )
    text = getattr(document, "text", None) or ""
    return len(text) >= _MAIN_TEXT


def _table(
    pages: list[Page], calls: dict[str, dict[str, bool]], show: Callable[[str], bool]
) -> list[str]:
    sizes = {"all": len(pages)} | {h: sum(half_of(p.domain) == h for p in pages) for h in HALVES}
    lines = [
        f"{'':22}" + "".join(f"{f'{half} ({size} pages)':>30}" for half, size in sizes.items()),
        f"{'':22}" + f"{'precision recall  errors':>30}" * len(sizes),
    ]
    for system, said in calls.items():
        counts = {h: Counts() for h in ("all", *HALVES)}
        for page in pages:
            for half in ("all", half_of(page.domain)):
                counts[half].add(said[page.name], page.article)
        lines.append(f"{system:22}" + "".join(f"  {counts[h].cell():>28}" for h in counts))
    for system, said in calls.items():
        if show(system):
            lines.append(f"\nmisses of {system}:")
            lines.extend(
                f"  {'hub stored' if said[p.name] else 'article missed':15}"
                f" [{half_of(p.domain)}] {p.name} {p.url[:90]}"
                for p in pages
                if said[p.name] != p.article
            )
    return lines


@time_limited("page_kinds")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--fit", action="store_true", help="refit the weights on the dev half")
    parser.add_argument("--trafilatura", action="store_true", help="add the trafilatura row")
    parser.add_argument("--show-misses", action="store_true", help="list page_kind's errors")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)

    if not (args.corpus / "metadata.json").is_file():
        print(f"page_kinds: no corpus at {args.corpus}; skipped")
        return 0
    pages = load_pages(args.corpus)
    said: dict[str, bool] = {}
    wall = cpu = 0.0
    for page in pages:
        started, started_cpu = time.perf_counter(), time.process_time()
        said[page.name] = page_kind(page.html, page.url).kind == ARTICLE
        wall += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
    calls = {
        "page_kind": said,
        "url only": {p.name: url_looks_like_article(p.url) for p in pages},
        "og:type article": {
            p.name: read_page_signals(p.html, p.url).og_type == ARTICLE for p in pages
        },
    }
    if args.trafilatura:
        started_cpu = time.process_time()
        calls["trafilatura text"] = {p.name: _trafilatura_says_article(p) for p in pages}
        traf_cpu = (time.process_time() - started_cpu) / len(pages)
    print(
        f"corpus: {args.corpus}, {len(pages)} pages, {sum(p.article for p in pages)} articles; "
        f"page_kind costs {1000 * wall / len(pages):.1f} ms a page "
        f"({1000 * cpu / len(pages):.1f} ms of CPU)"
        + (f"; trafilatura {1000 * traf_cpu:.1f} ms of CPU" if args.trafilatura else "")
        + "\n"
    )
    print("\n".join(_table(pages, calls, lambda s: args.show_misses and s == "page_kind")))
    if args.fit:
        signals: dict[str, PageSignals] = {p.name: read_page_signals(p.html, p.url) for p in pages}
        bias, weights = fit(
            (features(signals[p.name], p.url), p.article)
            for p in pages
            if half_of(p.domain) == "dev"
        )
        print(f"\nfitted on the dev half (workers/crawl/page_kind.py):\n_BIAS = {bias:.2f}")
        print("_WEIGHTS: dict[str, tuple[float, float]] = {")
        for name, (mean, weight) in weights.items():
            print(f'    "{name}": ({mean:.2f}, {weight:.2f}),')
        print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
