"""Metadata quality on the wcxb-dev corpus: titles, authors and dates against human-reviewed
ground truth, for the 711 article pages.

Three columns, each scored the same way on the same pages:

* **before**: the metadata trafilatura's extraction hands to the extract stage
  (:func:`extract_html`), which sluice stored as it was until it cleaned it;
* **after**: what the extract stage stores now (:func:`extract` on an :class:`Article`);
* **trafilatura**: trafilatura's own metadata extractor (``extract_metadata``).

A value matches when:

* **title**, **author**: the token F1 of the stored and the true value is at least 0.8
  (tokens: NFKC, case-folded runs of letters and digits); a stricter row also counts titles
  whose tokens are exactly the same;
* **date**: the stored value's calendar day (its first ten characters, the day the page
  itself gives, whatever the offset) is the true ``publish_date``; a second row also
  accepts the stored moment's day in UTC (``2025-07-04T20:04:00-04:00`` for a truth of
  ``2025-07-05``): a truth that is only a day does not say in which zone it was read.

Shares are over the pages whose ground truth has the field; "given where truth has none"
counts pages where a value was stored though the ground truth has none (lower is better).

The pages are split in two halves by a hash of their domain, so that no site is in both:
rules were developed looking at the *dev* half only; *held-out* shows whether they carry
over to sites never looked at. The table is printed for all pages and for each half.

Run: ``.venv/bin/python -m benchmarks.metadata_quality`` (exits 0 with a message when the
corpus is absent; ``--corpus DIR`` reads it elsewhere).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trafilatura.metadata import extract_metadata

from benchmarks.corpus import REPO
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.article import Article
from sluice.shared.errors import PermanentError
from sluice.workers.metadata import page_metadata
from sluice.workers.stages.extract import decode_html, extract, extract_html

__all__ = [
    "Page",
    "Values",
    "date_matches",
    "date_matches_in_either_zone",
    "half_of",
    "main",
    "token_f1",
    "tokens",
]

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "wcxb-dev"
F1_THRESHOLD = 0.8
FIELDS = ("title", "author", "date")
SYSTEMS = ("before", "after", "trafilatura")
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class Values:
    """A title, an author and a date, each possibly missing."""

    title: str | None = None
    author: str | None = None
    date: str | None = None

    def get(self, name: str) -> str | None:
        value: str | None = getattr(self, name)
        return value


@dataclass(frozen=True, slots=True)
class Page:
    """One article page of the corpus, with its ground truth."""

    name: str
    url: str
    domain: str
    html: str
    truth: Values


def tokens(text: str | None) -> list[str]:
    """The words of ``text``: NFKC, case-folded runs of letters and digits."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text or "").casefold())


def token_f1(found: str | None, truth: str | None) -> float:
    """F1 of the two values' tokens, counted as multisets."""
    a, b = Counter(tokens(found)), Counter(tokens(truth))
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def date_matches(found: str | None, truth: str | None) -> bool:
    """The stored date falls on the true calendar day (``YYYY-MM-DD``)."""
    return bool(found and truth) and found[:10] == truth[:10]  # type: ignore[index]


def date_matches_in_either_zone(found: str | None, truth: str | None) -> bool:
    """:func:`date_matches`, or the stored moment falls on the true day in UTC."""
    if date_matches(found, truth):
        return True
    if not (found and truth) or "T" not in found:
        return False
    try:
        moment = datetime.fromisoformat(found)
    except ValueError:
        return False
    return moment.tzinfo is not None and moment.astimezone(UTC).date().isoformat() == truth[:10]


def matches(field: str, found: str | None, truth: str | None) -> bool:
    if field == "date":
        return date_matches(found, truth)
    if field == "date~":
        return date_matches_in_either_zone(found, truth)
    return token_f1(found, truth) >= F1_THRESHOLD


def half_of(domain: str) -> str:
    """``dev`` or ``held-out``, from a hash of the page's domain."""
    return "dev" if hashlib.sha256(domain.encode()).digest()[0] % 2 == 0 else "held-out"


def load_pages(corpus: Path) -> list[Page]:
    """The corpus's article pages, in name order."""
    files = json.loads((corpus / "metadata.json").read_text())["files"]
    pages = []
    for name in sorted(files):
        if files[name]["page_type"] != "article":
            continue
        record = json.loads((corpus / "ground-truth" / f"{name}.json").read_text())
        truth = record["ground_truth"]
        body = gzip.decompress((corpus / "html" / f"{name}.html.gz").read_bytes())
        pages.append(
            Page(
                name,
                record.get("url") or f"https://corpus.sluice.invalid/{name}",
                files[name]["domain"],
                decode_html(body),
                Values(truth.get("title"), truth.get("author"), truth.get("publish_date")),
            )
        )
    return pages


def before(page: Page) -> Values:
    fields = extract_html(page.html, page.url) or {}
    return Values(fields.get("title"), fields.get("author"), fields.get("date"))


def after(page: Page) -> Values:
    article = Article(job_id="bench", item_id=0, url=page.url)
    try:
        extract(article, page.html)
    except PermanentError:
        return Values()
    return Values(article.title, article.author, article.date)


def trafilatura_own(page: Page) -> Values:
    document = extract_metadata(page.html, default_url=page.url)
    return Values(document.title, document.author, document.date)


EXTRACTORS: dict[str, Callable[[Page], Values]] = {
    "before": before,
    "after": after,
    "trafilatura": trafilatura_own,
}


@dataclass
class Score:
    """Matches of one field for one column, over the pages whose truth has the field."""

    matched: int = 0
    scored: int = 0
    spurious: int = 0  # a value given where the truth has none
    truthless: int = 0

    def share(self) -> float:
        return self.matched / self.scored if self.scored else 0.0


def score(
    pages: Iterable[Page], found: dict[str, dict[str, Values]], strict_titles: bool = False
) -> dict[str, dict[str, Score]]:
    """``{system: {field: Score}}``; with ``strict_titles`` the title row is exact tokens."""
    table = {s: {f: Score() for f in (*FIELDS, "title=", "date~")} for s in SYSTEMS}
    for page in pages:
        for system in SYSTEMS:
            values = found[system][page.name]
            for field in (*FIELDS, "title=", "date~"):
                name = field.rstrip("=~")
                truth, value = page.truth.get(name), values.get(name)
                cell = table[system][field]
                if not truth:
                    cell.truthless += 1
                    cell.spurious += bool(value)
                    continue
                cell.scored += 1
                if field == "title=":
                    cell.matched += tokens(value) == tokens(truth)
                else:
                    cell.matched += matches(field, value, truth)
    return table


def render(label: str, pages: list[Page], found: dict[str, dict[str, Values]]) -> str:
    table = score(pages, found)
    lines = [f"{label}: {len(pages)} pages", f"{'':38}" + "".join(f"{s:>13}" for s in SYSTEMS)]
    rows = (
        ("title", f"title (token F1 >= {F1_THRESHOLD})"),
        ("title=", "title (same tokens)"),
        ("author", f"author (token F1 >= {F1_THRESHOLD})"),
        ("date", "date (same calendar day)"),
        ("date~", "date (that day here or in UTC)"),
    )
    for field, name in rows:
        scored = table["after"][field].scored
        cells = "".join(
            f"{100 * table[s][field].share():>6.1f} % {table[s][field].matched:>4}" for s in SYSTEMS
        )
        lines.append(f"{name + f' [{scored}]':38}{cells}")
    for field in ("author", "date"):
        truthless = table["after"][field].truthless
        cells = "".join(f"{table[s][field].spurious:>13}" for s in SYSTEMS)
        lines.append(f"{f'{field} given where truth has none [{truthless}]':38}{cells}")
    return "\n".join(lines)


@time_limited("metadata_quality")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--show-misses",
        choices=FIELDS,
        help="list the pages where the after column misses this field",
    )
    parser.add_argument("--half", choices=("all", "dev", "held-out"), default="all")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)

    if not (args.corpus / "metadata.json").is_file():
        print(f"metadata_quality: no corpus at {args.corpus}; skipped")
        return 0
    started = time.perf_counter()
    pages = load_pages(args.corpus)
    if args.half != "all":
        pages = [p for p in pages if half_of(p.domain) == args.half]
    found = {s: {p.name: EXTRACTORS[s](p) for p in pages} for s in SYSTEMS}
    cost, cpu = time.perf_counter(), time.process_time()
    for page in pages:
        before_values = found["before"][page.name]
        page_metadata(page.html, page.url, {"title": before_values.title})
    cost = (time.perf_counter() - cost) / max(len(pages), 1)
    cpu = (time.process_time() - cpu) / max(len(pages), 1)  # what other load does not inflate
    print(
        f"corpus: {args.corpus}, {time.perf_counter() - started:.0f} s; "
        f"reading a page's metadata costs {1000 * cost:.1f} ms on average "
        f"({1000 * cpu:.1f} ms of CPU)\n"
    )
    print(render("all", pages, found))
    for half in ("dev", "held-out"):
        part = [p for p in pages if half_of(p.domain) == half]
        if part and len(part) != len(pages):
            print()
            print(render(half, part, found))
    if args.show_misses:
        field = args.show_misses
        print(f"\npages where after misses the {field}:")
        for page in pages:
            truth, value = page.truth.get(field), found["after"][page.name].get(field)
            if truth and not matches(field, value, truth):
                print(f"  {page.name} [{half_of(page.domain)}] {value!r} | truth {truth!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
