"""The baseline: the pipeline's own stage functions called from a plain loop, no queue.

Extract runs page by page, dedup computes the same fingerprints as sluice's dedup stage
(exact and MinHash) and keeps a dictionary of exact ones, tag runs
``nlp.pipe`` over batches of texts, and store upserts the articles into a fresh store in one
transaction. With more than one process, extract and tag are spread over a
``multiprocessing`` pool; dedup and store stay in this process, as they need one view of
everything. :class:`Baseline` runs the article set in parts on one pool.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.corpus import BenchPage
from benchmarks.processes import process_cpu_seconds
from sluice.shared.article import Article, Entity
from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import get_engine, session_scope
from sluice.shared.errors import PermanentError
from sluice.shared.fingerprints import fingerprint
from sluice.shared.identity import article_id_for_url, canonicalize_url, text_fingerprint
from sluice.shared.settings import get_settings
from sluice.workers.dedup.index import layout_from_settings
from sluice.workers.stages.extract import decode_html, extract
from sluice.workers.stages.store import upsert_article
from sluice.workers.tagging.entities import load_model, tag_texts

__all__ = ["Baseline", "BaselineResult", "pool_context"]

_JOB = "baseline"
_TAG_BATCH = 16


@dataclass
class BaselineResult:
    """What the baseline measured; times in seconds."""

    processes: int
    seconds: float
    stage_times: dict[str, list[float]]
    states: dict[str, int]
    reasons: dict[str, int]
    latencies: list[float]
    cpu_seconds: float
    model_load: list[float] = field(default_factory=list)
    store_url: str = ""
    part_seconds: list[float] = field(default_factory=list)
    part_articles: list[int] = field(default_factory=list)


def _new_article(index: int, url: str) -> Article:
    """The item as the producer makes it: its id from its canonical URL."""
    article = Article(job_id=_JOB, item_id=index, url=url)
    with contextlib.suppress(ValueError):
        article.canonical_url = canonicalize_url(url)
        article.id = article_id_for_url(article.canonical_url)
    return article


def _extract_one(task: tuple[int, str, bytes]) -> tuple[dict[str, Any] | None, str | None, float]:
    """Decode and extract one page: ``(article dict or None, failure reason, seconds)``."""
    index, url, body = task
    started = time.perf_counter()
    article = _new_article(index, url)
    try:
        extract(article, decode_html(body), get_settings().extract_min_chars)
    except PermanentError as exc:
        return None, exc.reason, time.perf_counter() - started
    return article.to_dict(), None, time.perf_counter() - started


def _tag_batch(texts: list[str]) -> tuple[list[list[Entity]], float, float]:
    """Entities of ``texts``: ``(entities, seconds tagging, seconds loading the model)``."""
    settings = get_settings()
    cold = load_model.cache_info().currsize == 0
    started = time.perf_counter()
    nlp = load_model(settings.spacy_pipelines["en"])
    loaded = time.perf_counter()
    entities = tag_texts(nlp, texts, settings.tag_chunk_chars)
    return entities, time.perf_counter() - loaded, (loaded - started) if cold else 0.0


def pool_context() -> multiprocessing.context.BaseContext:
    """How the pool's processes start: from a fork server, a fresh process that never held
    this one's connections. A forked copy of this process inherited its kombu and database
    sockets, and once hung in kombu's close on such a socket while the pool was terminated;
    the server imports this module first, so each process starts with it loaded."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _pool_signals() -> None:
    # Ctrl-C is handled by the parent, which terminates the pool with SIGTERM: that must
    # simply end a pool process, whatever handler the parent installed for itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Baseline:
    """The baseline's processes, kept for several parts of the article set.

    The benchmark runs its parts before, between and after sluice's (benchmarks/schedule.py),
    so that a machine getting faster or slower during the run moves both sides alike; the
    pool (and the spaCy model each of its processes loaded) lives on between the parts, idle
    while sluice runs.
    """

    def __init__(self, processes: int, store_url: str) -> None:
        self.processes = processes
        self.store_url = store_url
        self._pool: Any = None
        self._seen: dict[str, str] = {}  # exact text fingerprint -> first article id
        self._next_item = 0
        self._parts: list[BaselineResult] = []

    def __enter__(self) -> Baseline:
        upgrade_database(self.store_url)
        if self.processes > 1:
            self._pool = pool_context().Pool(self.processes, initializer=_pool_signals)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
        get_engine(self.store_url).dispose()

    def _map(self, fn: Callable[..., Any], items: Iterable[Any]) -> Iterable[Any]:
        if self._pool is None:
            return map(fn, items)
        return self._pool.imap(fn, items, chunksize=1)

    def _cpu_seconds(self) -> float:
        """CPU time of this process and of the pool's processes."""
        own = resource.getrusage(resource.RUSAGE_SELF)
        # Pool._pool holds the pool's processes (not a public attribute, stable for years).
        pids = [p.pid for p in self._pool._pool] if self._pool is not None else []
        return own.ru_utime + own.ru_stime + sum(process_cpu_seconds(pid) for pid in pids)

    def run(self, pages: list[BenchPage]) -> BaselineResult:
        """Process ``pages`` through extract, dedup, tag and store without any queue; one
        transaction stores them all at the end. Returns this part's figures."""
        times: dict[str, list[float]] = {s: [] for s in ("extract", "dedup", "tag", "store")}
        states: dict[str, int] = {}
        reasons: dict[str, int] = {}
        model_load: list[float] = []
        cpu_before = self._cpu_seconds()
        started = time.perf_counter()
        articles: list[Article] = []
        first = self._next_item
        self._next_item += len(pages)
        tasks = ((first + n, page.url, page.body) for n, page in enumerate(pages))
        for data, reason, seconds in self._map(_extract_one, tasks):
            times["extract"].append(seconds)
            if data is None:
                reasons[reason or "unknown"] = reasons.get(reason or "unknown", 0) + 1
                states["failed"] = states.get("failed", 0) + 1
            else:
                articles.append(Article.from_dict(data))

        layout = layout_from_settings(get_settings())
        for article in articles:
            begun = time.perf_counter()
            # The fingerprints sluice's dedup stage computes: exact text, and MinHash for the
            # near-duplicate index (the index itself is what a plain script would not have).
            fingerprint(article.text, layout)
            owner = self._seen.setdefault(text_fingerprint(article.text), article.id)
            if owner != article.id:
                article.duplicate_of, article.similarity = owner, 1.0
            times["dedup"].append(time.perf_counter() - begun)

        originals = [a for a in articles if not a.is_duplicate]
        batches = [originals[i : i + _TAG_BATCH] for i in range(0, len(originals), _TAG_BATCH)]
        tagged = self._map(_tag_batch, ([a.text for a in batch] for batch in batches))
        for batch, (entities, seconds, loading) in zip(batches, tagged, strict=True):
            for article, found in zip(batch, entities, strict=True):
                article.entities = found
            times["tag"].extend([seconds / len(batch)] * len(batch))
            if loading:
                model_load.append(loading)

        with session_scope(self.store_url) as conn:
            for article in articles:
                begun = time.perf_counter()
                upsert_article(conn, article)
                times["store"].append(time.perf_counter() - begun)
        seconds = time.perf_counter() - started

        for article in articles:
            state = "duplicate" if article.is_duplicate else "stored"
            states[state] = states.get(state, 0) + 1
        part = BaselineResult(
            processes=self.processes,
            seconds=seconds,
            stage_times=times,
            states=states,
            reasons=reasons,
            # Everything is committed at once at the end: each article waits for its part.
            latencies=[seconds] * len(articles),
            cpu_seconds=self._cpu_seconds() - cpu_before,
            model_load=model_load,
            store_url=self.store_url,
        )
        self._parts.append(part)
        return part

    def result(self) -> BaselineResult:
        """The figures of every part so far, as one run over all their pages."""
        total = BaselineResult(self.processes, 0.0, {}, {}, {}, [], 0.0, [], self.store_url)
        for part in self._parts:
            total.seconds += part.seconds
            total.cpu_seconds += part.cpu_seconds
            total.latencies += part.latencies
            total.model_load += part.model_load
            total.part_seconds.append(part.seconds)
            total.part_articles.append(sum(part.states.values()))
            for stage, values in part.stage_times.items():
                total.stage_times.setdefault(stage, []).extend(values)
            for mine, theirs in ((total.states, part.states), (total.reasons, part.reasons)):
                for key, count in theirs.items():
                    mine[key] = mine.get(key, 0) + count
        return total
