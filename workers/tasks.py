"""Celery tasks: thin wrappers that decode the article, call a stage, and route the result.

Outcomes of a stage:

* it returns the next stage's name: the article is forwarded there;
* it returns ``None``: the item reached its final state inside the stage;
* :class:`RetryableError` (or the broker or database being unreachable): retried with
  exponential backoff and jitter, then recorded as failed with its reason;
* :class:`PermanentError`: recorded as failed with its reason at once;
* anything else is a bug: logged with its traceback and recorded as ``internal_error``, so
  the item still reaches a final state.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable

import redis
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

from shared.article import Article
from shared.errors import PermanentError, RetryableError
from shared.jobs import advance_item, finish_item
from shared.pages import load_page
from shared.redis_state import get_redis
from shared.settings import get_settings
from shared.states import State
from workers.app import app
from workers.routing import send_to
from workers.stages.dedup import DedupIndex, claimed_identities, dedup, item_key
from workers.stages.extract import decode_html, extract
from workers.stages.fetch import Fetcher, fetch, identify
from workers.stages.store import store
from workers.stages.tag import load_model, tag

log = logging.getLogger(__name__)

StageBody = Callable[[Article], str | None]


@functools.cache
def _fetcher() -> Fetcher:
    return Fetcher(get_settings())


@functools.cache
def _dedup_index() -> DedupIndex:
    return DedupIndex(get_redis())


def _label(article: Article) -> str:
    return f"job={article.job_id} item={article.item_id} id={article.id or '-'}"


def _backoff(retries: int, retry_after: float | None) -> float:
    settings = get_settings()
    delay = min(settings.fetch_retry_backoff_max, settings.fetch_retry_backoff * 2**retries)
    delay *= random.uniform(0.5, 1.5)
    return max(delay, retry_after or 0.0)


def _fail(article: Article, stage: str, reason: str, detail: str) -> None:
    log.info("%s failed at %s: %s", _label(article), stage, reason)
    finish_item(
        article.job_id,
        article.item_id,
        State.FAILED,
        reason=reason,
        detail=f"{stage}: {detail}",
        article_id=article.id or None,
    )
    index = _dedup_index()
    for identity in claimed_identities(article):
        index.release(identity, item_key(article))


def _run(task: Task, payload: dict, stage: str, body: StageBody) -> None:
    article = Article.from_dict(payload)
    started = time.perf_counter()
    try:
        next_stage = body(article)
    except RetryableError as exc:
        if task.request.retries < get_settings().fetch_max_retries:
            raise task.retry(countdown=_backoff(task.request.retries, exc.retry_after)) from exc
        _fail(article, stage, exc.reason, f"gave up after {task.request.retries + 1} tries: {exc}")
        return
    except (OperationalError, redis.ConnectionError, redis.TimeoutError) as exc:
        # The store or Redis is unreachable: nothing is wrong with the item, so try again.
        raise task.retry(countdown=_backoff(task.request.retries, None), max_retries=20) from exc
    except PermanentError as exc:
        _fail(article, stage, exc.reason, exc.detail)
        return
    except SoftTimeLimitExceeded:
        _fail(article, stage, "time_limit", "the stage took longer than its time limit")
        return
    except Exception as exc:
        log.exception("%s crashed in %s", _label(article), stage)
        _fail(article, stage, "internal_error", f"{type(exc).__name__}: {exc}")
        return
    if next_stage is not None:
        article.timings[stage] = round(time.perf_counter() - started, 4)
        send_to(next_stage, article.to_dict(), _label(article))


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
    fetch(article, _fetcher())
    advance_item(article.job_id, article.item_id, State.FETCHED, article_id=article.id)
    return "extract"


def _extract(article: Article) -> str | None:
    if article.page_id is None:
        raise PermanentError("no_page", "nothing to extract from")
    page = load_page(article.page_id)
    if page is None:
        raise PermanentError("page_missing", f"page {article.page_id} is not in the store")
    extract(article, decode_html(page.body, page.encoding), get_settings().extract_min_chars)
    advance_item(article.job_id, article.item_id, State.EXTRACTED, article_id=article.id)
    return "dedup"


def _dedup(article: Article) -> str | None:
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


def _tag(article: Article) -> str | None:
    settings = get_settings()
    tag(article, load_model(settings.spacy_model), settings.tag_chunk_chars)
    advance_item(article.job_id, article.item_id, State.TAGGED, article_id=article.id)
    return "store"


def _store(article: Article) -> str | None:
    store(article)
    return None


# Time limits (soft, hard) per stage, in seconds: far below the visibility timeout.


@app.task(name="workers.fetch", bind=True, soft_time_limit=90, time_limit=120)
def fetch_task(self: Task, payload: dict) -> None:
    _run(self, payload, "fetch", _fetch)


@app.task(name="workers.extract", bind=True, soft_time_limit=60, time_limit=90)
def extract_task(self: Task, payload: dict) -> None:
    _run(self, payload, "extract", _extract)


@app.task(name="workers.dedup", bind=True, soft_time_limit=30, time_limit=60)
def dedup_task(self: Task, payload: dict) -> None:
    _run(self, payload, "dedup", _dedup)


@app.task(name="workers.tag", bind=True, soft_time_limit=120, time_limit=180)
def tag_task(self: Task, payload: dict) -> None:
    _run(self, payload, "tag", _tag)


@app.task(name="workers.store", bind=True, soft_time_limit=60, time_limit=90)
def store_task(self: Task, payload: dict) -> None:
    _run(self, payload, "store", _store)
