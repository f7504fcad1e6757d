"""How a stage's task hands an article on: queued for the next stage, or run in the same task
when the next stage is chained; and how a chained stage ends when it cannot finish."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
import redis

from shared.article import Article
from shared.errors import PermanentError, RetryableError
from shared.failures import list_failures
from shared.jobs import ItemSpec, create_job, new_job_id
from shared.queues import decode_message, queue_keys
from shared.redis_state import get_redis
from workers.running import ItemFailed, run_stage


class _Task:
    """What :func:`run_stage` uses of a bound Celery task: its request and ``retry``."""

    request = SimpleNamespace(retries=0)

    def retry(self, **_: object) -> Exception:
        raise AssertionError("the carrying task must not be retried")


@pytest.fixture
def article() -> Article:
    job_id = new_job_id()
    create_job(job_id, [ItemSpec("text", None)])
    return Article(job_id=job_id, item_id=0, id="a1", text="Some words about Rotterdam.")


@pytest.fixture
def dedup_queue() -> Iterator[redis.Redis]:
    """The dedup queue, emptied before and after the test."""
    client = get_redis()
    client.delete(queue_keys("dedup")[0])
    yield client
    client.delete(queue_keys("dedup")[0])


def _queued(client: redis.Redis) -> list[dict]:
    messages = [decode_message(raw) for raw in client.lrange(queue_keys("dedup")[0], 0, -1)]
    return [m[1][0] for m in messages if m]


def _extract(article: Article) -> str:
    article.title = "extracted"
    return "dedup"


def test_next_stage_is_queued_when_not_chained(article: Article, dedup_queue: redis.Redis) -> None:
    run_stage(_Task(), article.to_dict(), "extract", _extract, chain={})

    (queued,) = _queued(dedup_queue)
    assert queued["title"] == "extracted"
    assert "extract" in queued["timings"]


def test_chained_stage_runs_in_the_same_task_and_nothing_is_queued(
    article: Article, dedup_queue: redis.Redis
) -> None:
    seen: list[Article] = []

    def dedup(chained: Article) -> None:
        seen.append(chained)

    run_stage(_Task(), article.to_dict(), "extract", _extract, chain={"dedup": dedup})

    assert [a.title for a in seen] == ["extracted"]
    assert "extract" in seen[0].timings
    assert _queued(dedup_queue) == []


@pytest.mark.parametrize(
    "error",
    [RetryableError("busy", "try later"), redis.ConnectionError("Redis went away")],
    ids=["retryable", "service-unreachable"],
)
def test_chained_stage_that_cannot_finish_now_goes_to_its_own_queue(
    article: Article, dedup_queue: redis.Redis, error: Exception
) -> None:
    def dedup(chained: Article) -> None:
        chained.duplicate_of = "half-done"
        raise error

    run_stage(_Task(), article.to_dict(), "extract", _extract, chain={"dedup": dedup})

    (queued,) = _queued(dedup_queue)
    assert queued["title"] == "extracted"
    assert queued["duplicate_of"] is None  # what the chained stage was given, not its leftovers
    assert list_failures(job_id=article.job_id) == []


def test_chained_stage_that_fails_is_dead_lettered_under_its_own_name(
    article: Article, dedup_queue: redis.Redis
) -> None:
    def dedup(_: Article) -> None:
        raise PermanentError("empty_text", "nothing to deduplicate")

    with pytest.raises(ItemFailed) as failed:
        run_stage(_Task(), article.to_dict(), "extract", _extract, chain={"dedup": dedup})

    assert (failed.value.reason, failed.value.stage) == ("empty_text", "dedup")
    assert article.job_id in str(failed.value) and "nothing to" not in str(failed.value)
    (failure,) = list_failures(job_id=article.job_id)
    assert (failure.stage, failure.reason) == ("dedup", "empty_text")
    assert failure.payload["title"] == "extracted"
    assert _queued(dedup_queue) == []


def test_item_failed_pickles_with_its_reason() -> None:
    """The prefork pool pickles the error back to the worker's main process."""
    import pickle

    error = pickle.loads(pickle.dumps(ItemFailed("http_404", "fetch", "job=j item=0 id=-")))
    assert (error.reason, error.stage, error.label) == ("http_404", "fetch", "job=j item=0 id=-")
    assert repr(error).startswith("ItemFailed('http_404'")
