"""How a stage's task hands an article on: queued for the next stage, or run in the same task
when the next stage is chained; and how a chained stage ends when it cannot finish."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace

import pytest
import redis

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.failures import list_failures
from sluice.shared.jobs import ItemSpec, create_job, new_job_id
from sluice.shared.outcomes import Final, Forward, Outcome, failed
from sluice.shared.queues import decode_message, queue_keys
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.states import State
from sluice.workers import running
from sluice.workers.running import ItemFailed, run_stage

Body = Callable[[Article], Outcome]


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


def _extract(article: Article) -> Outcome:
    article.title = "extracted"
    return Forward()


def _with_bodies(monkeypatch: pytest.MonkeyPatch, **bodies: Body) -> None:
    """The runner finds these stage functions instead of those the pipeline table names."""
    monkeypatch.setattr(running, "body_of", lambda name: bodies[name])


def test_next_stage_is_queued_when_not_chained(
    article: Article, dedup_queue: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_bodies(monkeypatch, extract=_extract)
    run_stage(_Task(), article.to_dict(), "extract", chain=())

    (queued,) = _queued(dedup_queue)
    assert queued["title"] == "extracted"
    assert "extract" in queued["timings"]


def test_chained_stage_runs_in_the_same_task_and_nothing_is_queued(
    article: Article, dedup_queue: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Article] = []

    def dedup(chained: Article) -> Outcome:
        seen.append(chained)
        return Forward("store")

    def store(_: Article) -> Outcome:
        seen.append(_)
        return Final(State.STORED, recorded=True)

    _with_bodies(monkeypatch, extract=_extract, dedup=dedup, store=store)
    run_stage(_Task(), article.to_dict(), "extract", chain=("dedup", "store"))

    assert [a.title for a in seen] == ["extracted", "extracted"]
    assert "extract" in seen[0].timings and "dedup" in seen[1].timings
    assert _queued(dedup_queue) == []


@pytest.mark.parametrize(
    "error",
    [RetryableError(Reason.TIMEOUT, "try later"), redis.ConnectionError("Redis went away")],
    ids=["retryable", "service-unreachable"],
)
def test_chained_stage_that_cannot_finish_now_goes_to_its_own_queue(
    article: Article, dedup_queue: redis.Redis, error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dedup(chained: Article) -> Outcome:
        chained.duplicate_of = "half-done"
        raise error

    _with_bodies(monkeypatch, extract=_extract, dedup=dedup)
    run_stage(_Task(), article.to_dict(), "extract", chain=("dedup",))

    (queued,) = _queued(dedup_queue)
    assert queued["title"] == "extracted"
    assert queued["duplicate_of"] is None  # what the chained stage was given, not its leftovers
    assert list_failures(job_id=article.job_id) == []


@pytest.mark.parametrize("returned", [True, False], ids=["returned", "raised"])
def test_chained_stage_that_fails_is_dead_lettered_under_its_own_name(
    article: Article, dedup_queue: redis.Redis, monkeypatch: pytest.MonkeyPatch, returned: bool
) -> None:
    def dedup(_: Article) -> Outcome:
        if returned:
            return failed(Reason.EMPTY_TEXT, "nothing to deduplicate")
        raise PermanentError(Reason.EMPTY_TEXT, "nothing to deduplicate")

    _with_bodies(monkeypatch, extract=_extract, dedup=dedup)
    with pytest.raises(ItemFailed) as raised:
        run_stage(_Task(), article.to_dict(), "extract", chain=("dedup",))

    assert (raised.value.reason, raised.value.stage) == ("empty_text", "dedup")
    assert article.job_id in str(raised.value) and "nothing to" not in str(raised.value)
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
