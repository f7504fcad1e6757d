"""Celery tasks: thin wrappers that run a stage body through :func:`workers.running.run_stage`.

Each ``_<stage>`` function below is the whole of a stage's task: call the stage function,
record the item's progress, and name the next stage (or ``None`` when the item is final).
How tasks end, retry and dead-letter is decided in :mod:`workers.running`.

With ``SLUICE_CHAIN_STAGES``, stages that this worker serves run inside the task before them
instead of as tasks of their own: ``light`` chains dedup and store, whose work is a few
milliseconds, about what a task's own round trip through the broker costs; ``all`` runs
each article from extract to store in one task.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from celery import Task
from celery.signals import worker_init

from shared.article import Article
from shared.errors import PermanentError
from shared.jobs import advance_item, finish_item
from shared.metrics.host_outcomes import FETCHED, NOT_MODIFIED, count_fetch_outcome
from shared.pages import load_page
from shared.redis_state import get_redis
from shared.settings import get_settings
from shared.states import State
from workers.app import app
from workers.routing import STAGES, task_name
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
    if not _stored_in_this_task("extract"):
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
    if not _stored_in_this_task("tag"):
        advance_item(article.job_id, article.item_id, State.TAGGED, article_id=article.id)
    return "store"


def _store(article: Article) -> str | None:
    store(article)
    return None


# The stages each SLUICE_CHAIN_STAGES mode may run inside the task before them.
CHAINABLE: dict[str, tuple[str, ...]] = {
    "off": (),
    "light": ("dedup", "store"),  # a few milliseconds each
    "all": ("dedup", "tag", "store"),  # one task per article from extract to store
}

_BODIES: dict[str, StageBody] = {
    "fetch": _fetch,
    "extract": _extract,
    "dedup": _dedup,
    "tag": _tag,
    "store": _store,
}


def chained_bodies() -> Chain:
    """The stages this worker runs inside the task before them: the chainable ones whose
    queues it consumes (``-Q``)."""
    served = app.amqp.queues.consume_from
    return {
        stage: _BODIES[stage] for stage in CHAINABLE[get_settings().chain_stages] if stage in served
    }


def runs_inside(stage: str, chain: Chain) -> tuple[str, ...]:
    """The chained stages that ``stage``'s task may run after its own body.

    None unless the stage right after it is chained; then every chained stage after it, as
    each one is reachable (dedup hands duplicates straight to store).
    """
    following = STAGES[STAGES.index(stage) + 1 :]
    if not following or following[0] not in chain:
        return ()
    return tuple(name for name in following if name in chain)


def _stored_in_this_task(stage: str) -> bool:
    """Every stage after ``stage`` runs inside its task: the store records the item's final
    state a moment later, so a progress update on the way would be a wasted write."""
    return runs_inside(stage, chained_bodies()) == STAGES[STAGES.index(stage) + 1 :]


def _stage_task(stage: str) -> Task:
    """Register the ``workers.<stage>`` task running its body, with the stage's time limits
    (widened at worker start for the stages it runs too: :func:`_cover_chained_stages`)."""
    soft, hard = get_settings().time_limits(stage)
    body = _BODIES[stage]

    @app.task(
        name=task_name(stage),
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


@worker_init.connect
def _cover_chained_stages(**_: Any) -> None:
    """Give each task the time limits of its own stage plus those it runs inside it.

    Runs once the worker knows its queues and before it consumes: Celery reads a task's
    limits when it starts the worker's consumer.
    """
    chain, settings = chained_bodies(), get_settings()
    for stage in STAGES:
        task = app.tasks[task_name(stage)]
        task.soft_time_limit, task.time_limit = settings.time_limits(
            stage, *runs_inside(stage, chain)
        )
