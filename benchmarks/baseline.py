"""The baseline: the pipeline's own stage functions called from a plain loop, no queue.

Extract runs page by page, dedup computes the same fingerprints as sluice's dedup stage
(exact and MinHash) and keeps a dictionary of exact ones, tag runs
``nlp.pipe`` over batches of texts, and store upserts every article into a fresh SQLite
file in one transaction. With more than one process, extract and tag are spread over a
``multiprocessing`` pool; dedup and store stay in this process, as they need one view of
everything.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.corpus import BenchPage
from shared.article import Article, Entity
from shared.db import upgrade_database
from shared.db.engine import get_engine, session_scope
from shared.errors import PermanentError
from shared.fingerprints import fingerprint
from shared.identity import article_id_for_url, canonicalize_url, text_fingerprint
from shared.settings import get_settings
from workers.stages.dedup import layout_from_settings
from workers.stages.extract import decode_html, extract
from workers.stages.store import upsert_article
from workers.stages.tag import load_model, tag_texts

__all__ = ["BaselineResult", "run_baseline"]

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
    store_path: str = ""


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
    nlp = load_model(settings.spacy_model)
    loaded = time.perf_counter()
    entities = tag_texts(nlp, texts, settings.tag_chunk_chars)
    return entities, time.perf_counter() - loaded, (loaded - started) if cold else 0.0


def _cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the pool's)."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _pool_signals() -> None:
    # Ctrl-C is handled by the parent, which terminates the pool with SIGTERM: that must
    # simply end a pool process, whatever handler the parent installed for itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def _mapper(processes: int) -> Iterator[Callable[[Callable[..., Any], Iterable[Any]], Any]]:
    """``map`` in this process, or ``imap`` over a pool of ``processes``."""
    if processes <= 1:
        yield map
        return
    with multiprocessing.get_context("fork").Pool(processes, initializer=_pool_signals) as pool:
        yield lambda fn, items: pool.imap(fn, items, chunksize=1)


def run_baseline(pages: list[BenchPage], processes: int, work_dir: Path) -> BaselineResult:
    """Process ``pages`` through extract, dedup, tag and store without any queue, storing
    into a new SQLite file in ``work_dir``."""
    store_path = work_dir / "baseline.db"
    store_url = f"sqlite:///{store_path}"
    upgrade_database(store_url)
    times: dict[str, list[float]] = {s: [] for s in ("extract", "dedup", "tag", "store")}
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    model_load: list[float] = []
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    with _mapper(processes) as mapper:
        articles: list[Article] = []
        tasks = ((n, page.url, page.body) for n, page in enumerate(pages))
        for data, reason, seconds in mapper(_extract_one, tasks):
            times["extract"].append(seconds)
            if data is None:
                reasons[reason or "unknown"] = reasons.get(reason or "unknown", 0) + 1
                states["failed"] = states.get("failed", 0) + 1
            else:
                articles.append(Article.from_dict(data))

        first_with_text: dict[str, str] = {}
        layout = layout_from_settings(get_settings())
        for article in articles:
            begun = time.perf_counter()
            # The fingerprints sluice's dedup stage computes: exact text, and MinHash for the
            # near-duplicate index (the index itself is what a plain script would not have).
            fingerprint(article.text, layout)
            text_key = text_fingerprint(article.text)
            owner = first_with_text.setdefault(text_key, article.id)
            if owner != article.id:
                article.duplicate_of, article.similarity = owner, 1.0
            times["dedup"].append(time.perf_counter() - begun)

        originals = [a for a in articles if not a.is_duplicate]
        batches = [originals[i : i + _TAG_BATCH] for i in range(0, len(originals), _TAG_BATCH)]
        tagged = mapper(_tag_batch, ([a.text for a in batch] for batch in batches))
        for batch, (entities, seconds, loading) in zip(batches, tagged, strict=True):
            for article, found in zip(batch, entities, strict=True):
                article.entities = found
            times["tag"].extend([seconds / len(batch)] * len(batch))
            if loading:
                model_load.append(loading)

    with session_scope(store_url) as conn:
        for article in articles:
            begun = time.perf_counter()
            upsert_article(conn, article)
            times["store"].append(time.perf_counter() - begun)
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_before
    get_engine(store_url).dispose()

    for article in articles:
        state = "duplicate" if article.is_duplicate else "stored"
        states[state] = states.get(state, 0) + 1
    return BaselineResult(
        processes=processes,
        seconds=seconds,
        stage_times=times,
        states=states,
        reasons=reasons,
        # Everything is committed at once at the end: each article waits for the whole batch.
        latencies=[seconds] * len(articles),
        cpu_seconds=cpu_seconds,
        model_load=model_load,
        store_path=str(store_path),
    )
