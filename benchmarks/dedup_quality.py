"""Near-duplicate quality on the scrapinghub-aeb corpus: precision and recall of the real
extract stage and the real dedup decision (Lua in an isolated Redis database).

Each round splits the corpus at random: half its pages are indexed as originals (their own
HTML through ``extract`` and ``dedup``); then queries are decided one by one:

* **positives**: an indexed article's text, lightly edited (a changed headline, plus one to
  three of: a paragraph added or removed, a syndication line, changed quotes, changed
  whitespace), put into *another* page's HTML template in place of that page's own text.
  Right when judged a duplicate *of that article*.
* **negatives**: an article that is not indexed, either its own page or its (edited) text
  in the template of an indexed page, i.e. a different article in the same layout. Right
  when judged an original.

Every query is decided against the index as the pipeline would, originals included, so
negatives enter the index too; no two queries carry the same article. Extracted texts are
computed once per round and the decisions repeated for each threshold of ``--thresholds``.

``word share`` of a positive is the share of the longer text's words (as a multiset) that
the other text has too, measured between the edited and the original article text; the
targets apply to positives with a share of at least 0.8.

Run: ``.venv/bin/python -m benchmarks.dedup_quality`` (exits 0 with a message when the
corpus is absent).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import redis
from lxml import html as lxml_html

from benchmarks.corpus import default_corpus, load_corpus
from benchmarks.time_limit import add_time_limit, arm, time_limited
from sluice.shared.article import Article
from sluice.shared.errors import PermanentError
from sluice.shared.fingerprints import NearDupLayout, words
from sluice.shared.identity import article_id_for_url
from sluice.shared.settings import get_settings
from sluice.workers.dedup.index import DedupIndex, layout_from_settings
from sluice.workers.stages.dedup import dedup
from sluice.workers.stages.extract import decode_html, extract
from tests.support.services import BENCHMARK_DATABASES, redis_database

__all__ = ["main"]

DEFAULT_CORPUS = default_corpus().parent
SHARE_TARGET = 0.8
MAX_LEFTOVER = 0.05  # share of a template's own article shingles allowed to stay on its page
_WHITESPACE = re.compile(r"\s+")
_SYNDICATION = (
    "LONDON (Reuters) - ",
    "(AP) — ",
    "WASHINGTON, June 3 (AFP) - ",
    "NEW YORK (Bloomberg) -- ",
    "BERLIN (dpa) - ",
)
_ADDED = (
    "This story has been updated with additional reporting.",
    "Reporting by Jane Doe and Ahmed Khan; editing by Mark Potter.",
    "Additional reporting by the news desk. Follow our live coverage for the latest updates.",
    "A previous version of this article misstated the date of the announcement.",
)
_BLOCKS = (
    *("p", "li", "ul", "ol", "h2", "h3", "h4", "h5", "h6", "blockquote", "div", "section"),
    *("span", "strong", "em", "b", "td", "pre"),
)
_CURLY = str.maketrans({'"': "“", "'": "’"})
_STRAIGHT = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


def _squash(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


@dataclass
class Source:
    """One corpus page: its HTML, its ground-truth paragraphs and, once extracted, the rest."""

    name: str
    url: str
    html: str
    paragraphs: list[str]
    headline: str = ""
    text: str | None = None  # the main text extract found in its own page
    body: list | None = field(default=None, repr=False)  # paths of its article's <p> elements

    @property
    def is_template(self) -> bool:
        """Most of its article sits in ``<p>`` elements that can be swapped for another's."""
        return bool(self.body)


@dataclass(frozen=True)
class Query:
    kind: str  # positive | negative | negative-same-layout
    source: str  # the article whose text the query carries
    html: str
    expected: str | None  # id of the original it duplicates, None for a negative
    share: float = 1.0  # word share of the edited and the original article text
    edits: tuple[str, ...] = ()
    original_text: str = ""  # what extract found in the original's own page


def word_share(a: str, b: str) -> float:
    """Share of the longer text's words (multiset) that the other text has too."""
    wa, wb = Counter(words(a)), Counter(words(b))
    longer = max(sum(wa.values()), sum(wb.values()))
    return sum((wa & wb).values()) / longer if longer else 1.0


def load_sources(corpus: Path) -> list[Source]:
    """The corpus pages that have a ground-truth article body."""
    truth = json.loads((corpus / "ground-truth.json").read_text())
    return [
        Source(page.name, page.url, decode_html(page.body), _paragraphs(truth[page.name]))
        for page in load_corpus(corpus / "html")
        if page.name in truth
    ]


def _paragraphs(truth: dict[str, str]) -> list[str]:
    return [p.strip() for p in truth["articleBody"].split("\n") if p.strip()]


def _body_paths(html: str, paragraphs: list[str]) -> list | None:
    """Paths of the outermost elements whose text belongs to the page's own article (its
    paragraphs, list items, subheadings, quotes), if they hold most of it; else ``None``
    and the page is not used as a template."""
    doc = lxml_html.fromstring(html)
    body = _squash(" ".join(paragraphs))
    found: list = []
    for element in doc.iter(_BLOCKS):
        if any(ancestor in found for ancestor in element.iterancestors(_BLOCKS)):
            continue
        content = _squash(element.text_content())
        if len(content) >= 15 and content in body:
            found.append(element)
    if sum(len(_squash(e.text_content())) for e in found) < 0.5 * len(body):
        return None
    tree = doc.getroottree()
    return [tree.getpath(e) for e in found]


def transplant(template: Source, paragraphs: list[str], headline: str) -> str:
    """``template``'s page with its article text replaced by ``paragraphs`` and its
    headline by ``headline``."""
    doc = lxml_html.fromstring(template.html)
    tree = doc.getroottree()
    elements = [tree.xpath(path)[0] for path in template.body or []]
    first = elements[0]
    parent, position = first.getparent(), first.getparent().index(first)
    for element in elements:
        element.drop_tree()
    for offset, paragraph in enumerate(paragraphs):
        new = lxml_html.Element("p")
        new.text = paragraph
        parent.insert(position + offset, new)
    for element in doc.iter("title", "h1"):
        element.text, element[:] = headline, []
    for meta in doc.xpath("//meta[@property='og:title' or @name='twitter:title']"):
        meta.set("content", headline)
    return lxml_html.tostring(doc, encoding="unicode")


def light_edits(
    paragraphs: list[str], headline: str, rng: random.Random
) -> tuple[list[str], str, tuple[str, ...]]:
    """A changed headline and one to three other light edits."""
    edited = list(paragraphs)
    headline = (
        rng.choice(("UPDATE 1-", "Breaking: ", ""))
        + headline
        + rng.choice(("", " | World News", " (updated)"))
    )
    applied = ["headline"]
    for edit in rng.sample(
        ["add", "remove", "syndication", "quotes", "whitespace"], rng.randint(1, 3)
    ):
        if edit == "add":
            edited.insert(rng.randint(1, len(edited)), rng.choice(_ADDED))
        elif edit == "remove":
            if len(edited) < 3:
                continue
            del edited[rng.randint(1, len(edited) - 1)]
        elif edit == "syndication":
            edited[0] = rng.choice(_SYNDICATION) + edited[0]
        elif edit == "quotes":
            table = _STRAIGHT if any(c in "“”’" for c in " ".join(edited)) else _CURLY
            edited = [p.translate(table) for p in edited]
        elif edit == "whitespace":
            edited = [p.replace(". ", ".  ").replace(", ", " ,  ") for p in edited]
        applied.append(edit)
    return edited, headline, tuple(applied)


def _extract(html: str, url: str, item: int, min_chars: int) -> Article | None:
    article = Article("quality", item, url=url, canonical_url=url, id=article_id_for_url(url))
    try:
        return extract(article, html, min_chars)
    except PermanentError:
        return None


def prepare(sources: list[Source], min_chars: int) -> None:
    """Extract every page as it is, and find which pages can serve as templates."""
    for number, source in enumerate(sources):
        article = _extract(source.html, source.url, number, min_chars)
        if article is not None:
            source.text, source.headline = article.text, article.title or ""
        source.body = _body_paths(source.html, source.paragraphs)
        if source.body and _leftover(source) > MAX_LEFTOVER:
            source.body = None


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    tokens = words(text)
    return {tuple(tokens[i : i + size]) for i in range(max(1, len(tokens) - size + 1))}


def _leftover(template: Source) -> float:
    """Share of the template's own article still on the page once its text is swapped out:
    a template that leaks its article would make every article put into it alike."""
    page = lxml_html.fromstring(transplant(template, ["Placeholder."], "Placeholder"))
    own = _shingles(" ".join(template.paragraphs))
    return len(own & _shingles(page.text_content())) / len(own)


def build_queries(sources: list[Source], rng: random.Random) -> tuple[list[Source], list[Query]]:
    """Split the extractable pages into indexed originals and the rest; make the queries."""
    usable = [s for s in sources if s.text is not None]
    rng.shuffle(usable)
    indexed, others = usable[: len(usable) // 2], usable[len(usable) // 2 :]
    templates = [s for s in sources if s.is_template]
    queries = []
    for source in indexed:
        template = rng.choice([t for t in templates if t.name != source.name])
        paragraphs, headline, edits = light_edits(source.paragraphs, source.headline, rng)
        share = word_share(" ".join(source.paragraphs), " ".join(paragraphs))
        expected = article_id_for_url(source.url)
        html = transplant(template, paragraphs, headline)
        queries.append(
            Query("positive", source.name, html, expected, share, edits, source.text or "")
        )
    indexed_templates = [s for s in indexed if s.is_template]
    for number, source in enumerate(others):
        if number % 2 or not indexed_templates:
            queries.append(Query("negative", source.name, source.html, None))
            continue
        template = rng.choice(indexed_templates)
        paragraphs, headline, edits = light_edits(source.paragraphs, source.headline, rng)
        html = transplant(template, paragraphs, headline)
        queries.append(Query("negative-same-layout", source.name, html, None, edits=edits))
    rng.shuffle(queries)
    return indexed, queries


@dataclass
class Tally:
    positives: int = 0
    positives_at_share: int = 0
    found: int = 0
    found_at_share: int = 0
    wrong_target: int = 0
    false_positives: int = 0
    negatives: int = 0
    not_extracted: int = 0
    positive_similarities: list[float] = field(default_factory=list)
    negative_similarities: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        for name in (
            "positives",
            "positives_at_share",
            "found",
            "found_at_share",
            "wrong_target",
            "false_positives",
            "negatives",
            "not_extracted",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.positive_similarities += other.positive_similarities
        self.negative_similarities += other.negative_similarities
        self.misses += other.misses

    @property
    def precision(self) -> float:
        flagged = self.found + self.wrong_target + self.false_positives
        return self.found / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.positives if self.positives else 1.0

    @property
    def recall_at_share(self) -> float:
        return self.found_at_share / self.positives_at_share if self.positives_at_share else 1.0


def decide_round(
    client: redis.Redis,
    layout: NearDupLayout,
    indexed: list[Source],
    queries: list[tuple[Query, Article | None, float]],
    round_: int,
) -> Tally:
    """Index ``indexed`` and decide every query, with the real dedup stage, from scratch."""
    index = DedupIndex(client, layout=layout)
    # Only the index's keys: the database also holds the key that reserves it for this run.
    index.clear()
    tally = Tally()
    names: dict[str, str] = {}
    for number, source in enumerate(indexed):
        url = source.url
        names[article_id_for_url(url)] = f"indexed {source.name[:10]}"
        original = Article(
            "quality",
            number,
            url=url,
            canonical_url=url,
            id=article_id_for_url(url),
            text=source.text or "",
        )
        dedup(original, index)
    for number, (query, article, text_share) in enumerate(queries):
        positive = query.expected is not None
        at_share = positive and text_share >= SHARE_TARGET
        tally.positives += positive
        tally.positives_at_share += at_share
        tally.negatives += not positive
        if article is None:
            tally.not_extracted += 1
            if positive:
                tally.misses.append(f"round {round_} {query.source[:10]}: not extracted")
            continue
        article = replace(article, item_id=10_000 + number, duplicate_of=None, similarity=None)
        names[article.id] = f"{query.kind} {query.source[:10]}"
        dedup(article, index)
        if article.duplicate_of is None:
            if positive:
                tally.misses.append(
                    f"round {round_} {query.source[:10]}: original (edit share "
                    f"{query.share:.2f}, text share {text_share:.2f}, "
                    f"edits {','.join(query.edits)})"
                )
            continue
        similarity = article.similarity or 0.0
        if not positive or article.duplicate_of != query.expected:
            target = names.get(article.duplicate_of or "", article.duplicate_of)
            tally.misses.append(
                f"round {round_} {query.kind} {query.source[:10]}: duplicate of {target} "
                f"(similarity {similarity:.3f})"
            )
        if not positive:
            tally.false_positives += 1
            tally.negative_similarities.append(similarity)
        elif article.duplicate_of == query.expected:
            tally.found += 1
            tally.found_at_share += at_share
            tally.positive_similarities.append(similarity)
        else:
            tally.wrong_target += 1
    return tally


@time_limited("dedup_quality")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--thresholds", default="", help="comma-separated thresholds (default: the setting)"
    )
    parser.add_argument(
        "--redis-url", help="Redis server (a free database on it is reserved for the run)"
    )
    parser.add_argument("--show-misses", action="store_true")
    add_time_limit(parser, 1800)
    args = parser.parse_args(argv)
    arm(args.time_limit)

    if not (args.corpus / "ground-truth.json").is_file():
        print(f"dedup_quality: no corpus at {args.corpus}; skipped")
        return 0
    settings = get_settings()
    base = layout_from_settings(settings)  # other layouts: SLUICE_DEDUP_* variables
    thresholds = [float(t) for t in args.thresholds.split(",") if t] or [base.threshold]

    started = time.perf_counter()
    sources = load_sources(args.corpus)
    prepare(sources, settings.extract_min_chars)
    print(
        f"corpus: {len(sources)} pages, {sum(s.text is not None for s in sources)} extracted, "
        f"{sum(bool(s.body) for s in sources)} usable as templates"
    )
    totals = {t: Tally() for t in thresholds}
    with redis_database(args.redis_url, BENCHMARK_DATABASES) as redis_url:
        client = redis.Redis.from_url(redis_url)
        rng = random.Random(args.seed)
        for round_ in range(args.rounds):
            indexed, queries = build_queries(sources, rng)
            extracted = []
            for n, query in enumerate(queries):
                url = f"https://variant-{round_}-{n}.example/{query.source}"
                article = _extract(query.html, url, n, settings.extract_min_chars)
                share = word_share(article.text, query.original_text) if article else 0.0
                extracted.append((query, article, share))
            for threshold in thresholds:
                layout = replace(base, threshold=threshold)
                totals[threshold].add(decide_round(client, layout, indexed, extracted, round_))
        client.close()

    print(
        f"layout: {base.stamp}; {args.rounds} rounds, seed {args.seed}, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print(
        f"{'threshold':>9} {'positives':>9} {'negatives':>9} {'precision':>9} {'recall':>7} "
        f"{'recall@0.8':>10} {'wrong':>5} {'FP':>4} {'min sim TP':>10} {'max sim FP':>10}"
    )
    for threshold, t in totals.items():
        print(
            f"{threshold:>9.2f} {t.positives:>9} {t.negatives:>9} {t.precision:>9.4f} "
            f"{t.recall:>7.4f} {t.recall_at_share:>10.4f} {t.wrong_target:>5} "
            f"{t.false_positives:>4} {min(t.positive_similarities, default=0):>10.3f} "
            f"{max(t.negative_similarities, default=0):>10.3f}"
        )
        print(
            f"{'':>9} positives with word share >= {SHARE_TARGET}: {t.positives_at_share}; "
            f"queries not extracted: {t.not_extracted}"
        )
        if args.show_misses:
            for miss in t.misses:
                print(f"{'':>11}missed {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
