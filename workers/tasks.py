"""Celery tasks: thin wrappers that run a stage body through :func:`workers.running.run_stage`.

Each ``_<stage>`` function below is the whole of a stage's task: call the stage function,
record the item's progress, and name the next stage (or ``None`` when the item is final).
How tasks end, retry and dead-letter is decided in :mod:`workers.running`.

With ``SLUICE_CHAIN_LIGHT_STAGES``, the light stages (dedup, store) that this worker serves
run inside the task before them instead of as tasks of their own: their work is a few
milliseconds, about what a task's own round trip through the broker costs.
"""

from __future__ import annotations

import functools
import logging

from celery import Task

from shared.article import Article
from shared.errors import PermanentError
from shared.jobs import advance_item, finish_item
from shared.metrics.host_outcomes import FETCHED, NOT_MODIFIED, count_fetch_outcome
from shared.pages import load_page
from shared.redis_state import get_redis
from shared.settings import get_settings
from shared.states import State
from workers.app import app
from workers.routing import task_name
from workers.running import Chain, StageBody, run_stage
from workers.stages.dedup import DedupIndex, dedup, item_key
from workers.stages.extract import decode_html, extract
from workers.stages.fetch import Crawler, Deferred, Fetcher, Unchanged, fetch_politely, identify
from workers.stages.store import store
from workers.stages.tag import load_model
from workers.stages.tag_ahead import TagAhead, tag_with_lookahead

log = logging.getLogger(__name__)


@functools.cache
def _fetcher() -> Fetcher:
    return Fetcher(get_settings())


@functools.cache
def _crawler() -> Crawler:
    return Crawler(_fetcher(), get_redis(), get_settings())


def _defer(article: Article, wait: float) -> None:
    """Re-queue the fetch to run in ``wait`` seconds, keeping its retry count.

    The countdown stays under a quarter of the visibility timeout, so a deferred message is
    never redelivered as if lost; a fetch due later simply defers again.
    """
    settings = get_settings()
    longest = min(settings.fetch_defer_max, settings.visibility_timeout / 4)
    app.send_task(
        task_name("fetch"),
        args=[article.to_dict()],
        queue="fetch",
        countdown=min(wait, longest) + 0.02,  # a hair late, never early, for the host's gate
        retries=fetch_task.request.retries or 0,
        argsrepr=f"(job={article.job_id} item={article.item_id} id={article.id or '-'})",
        kwargsrepr="{}",
    )


@functools.cache
def _dedup_index() -> DedupIndex:
    return DedupIndex(get_redis())


def _fetch(article: Article) -> str | None:
    identify(article)
    claim = _dedup_index().claim(
        article.canonical_url or "", item_key(article), article.id, takeover=article.refetch
    )
    if not claim.is_original:
        finish_item(
            article.job_id,
            article.item_id,
            State.DUPLICATE,
            reason="already_submitted",
            article_id=article.id,
            duplicate_of=claim.article_id,
        )
        return None
    outcome = fetch_politely(article, _crawler())
    if isinstance(outcome, Deferred):
        _defer(article, outcome.wait)
        return None
    count_fetch_outcome(
        article, "fetch", NOT_MODIFIED if isinstance(outcome, Unchanged) else FETCHED
    )
    if isinstance(outcome, Unchanged):
        finish_item(
            article.job_id,
            article.item_id,
            State.UNCHANGED,
            reason="not_modified",
            article_id=article.id,
        )
        return None
    advance_item(article.job_id, article.item_id, State.FETCHED, article_id=article.id)
    return "extract"


def _extract(article: Article) -> str | None:
    if article.page_id is None:
        raise PermanentError("no_page", "nothing to extract from")
    page = load_page(article.page_id)
    if page is None:
        raise PermanentError("page_missing", f"page {article.page_id} is not in the store")
    settings = get_settings()
    html = decode_html(page.body, page.encoding)
    extract(article, html, settings.extract_min_chars, settings.extract_max_html_chars)
    advance_item(article.job_id, article.item_id, State.EXTRACTED, article_id=article.id)
    return "dedup"


def _dedup(article: Article) -> str | None:
    if not article.text.strip():
        raise PermanentError("empty_text", "nothing to deduplicate or tag")
    dedup(article, _dedup_index())
    if article.duplicate_of == article.id:
        # The same page submitted again: it is already (being) stored under this id.
        finish_item(
            article.job_id,
            article.item_id,
            State.DUPLICATE,
            reason="already_submitted",
            article_id=article.id,
            duplicate_of=article.id,
        )
        return None
    # Duplicates skip tagging: it is the most expensive stage and they are stored as such.
    return "store" if article.is_duplicate else "tag"


@functools.cache
def _tag_ahead() -> TagAhead:
    settings = get_settings()
    return TagAhead(get_redis(), settings.spacy_model, settings.tag_chunk_chars)


def _tag(article: Article) -> str | None:
    settings = get_settings()
    tag_with_lookahead(
        article,
        load_model(settings.spacy_model),
        _tag_ahead(),
        chunk_chars=settings.tag_chunk_chars,
        max_chars=settings.tag_max_chars,
        batch_size=settings.tag_batch_size,
        ahead_max_chars=settings.tag_ahead_max_chars,
    )
    if "store" not in chained_bodies():
        # A chained store records the final state in this same task a moment later.
        advance_item(article.job_id, article.item_id, State.TAGGED, article_id=article.id)
    return "store"


def _store(article: Article) -> str | None:
    store(article)
    return None


# Stages cheap enough to run inside the task before them (SLUICE_CHAIN_LIGHT_STAGES).
LIGHT_STAGES = ("dedup", "store")

_BODIES: dict[str, StageBody] = {
    "fetch": _fetch,
    "extract": _extract,
    "dedup": _dedup,
    "tag": _tag,
    "store": _store,
}


def chained_bodies() -> Chain:
    """The light stages this worker runs inside the task before them: those whose queues it
    consumes (``-Q``), when chaining is on."""
    if not get_settings().chain_light_stages:
        return {}
    served = app.amqp.queues.consume_from
    return {stage: _BODIES[stage] for stage in LIGHT_STAGES if stage in served}


def _stage_task(stage: str) -> Task:
    """Register the ``workers.<stage>`` task running its body, with the stage's time limits."""
    soft, hard = get_settings().time_limits(stage)
    body = _BODIES[stage]

    @app.task(
        name=f"workers.{stage}",
        bind=True,
        soft_time_limit=soft,
        time_limit=hard,
        Request="workers.requests:StageRequest",
    )
    def task(self: Task, payload: dict) -> None:
        run_stage(self, payload, stage, body, chained_bodies())

    return task


fetch_task = _stage_task("fetch")
extract_task = _stage_task("extract")
dedup_task = _stage_task("dedup")
tag_task = _stage_task("tag")
store_task = _stage_task("store")
