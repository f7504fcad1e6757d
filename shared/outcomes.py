"""How a stage ended for one article: the one type every stage function returns.

* :class:`Forward`: go on to the next stage (the pipeline table's first successor, or the
  one named);
* :class:`Final`: the item reached a final state, with its reason (``failed`` items are
  dead-lettered with their detail);

  either may carry ``found``: new URLs for the crawl frontier (:class:`NewUrl`, each with its
  priority and provenance), which the runner records as items of the job and lets into the
  frontier (:mod:`workers.found_work`);
* :class:`Retry`: a transient fault; try the stage again later, then give up with the reason;
* :class:`Defer`: not now; the fetch item goes back into the crawl frontier, in the queue of
  ``url``'s host, after ``wait`` seconds (robots.txt took the turn, a redirect, a busy host).

The runner (:mod:`workers.running`) alone turns an outcome into Celery calls and counts it.
Helpers deep inside a stage may raise :class:`shared.errors.PermanentError` or
:class:`shared.errors.RetryableError` instead; the runner reads those as ``Final(failed)``
and ``Retry``. Any other exception is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError, RetryableError, SluiceError
from sluice.shared.reasons import Reason
from sluice.shared.states import State

__all__ = [
    "Defer",
    "Final",
    "Forward",
    "NewUrl",
    "Outcome",
    "Retry",
    "failed",
    "from_error",
]


@dataclass(frozen=True, slots=True)
class NewUrl:
    """A URL a stage found, to be fetched as a new item of the job that found it.

    ``priority`` is the frontier's (0 lowest, 9 highest); ``job_id``, ``found_by`` (the item
    that found it) and ``depth`` (its finder's depth plus one) are its provenance, which the
    new item carries on. Build one with :meth:`found_in`.
    """

    url: str
    job_id: str
    found_by: int
    depth: int = 1
    priority: int = 0

    @classmethod
    def found_in(cls, article: Article, url: str, priority: int = 0) -> NewUrl:
        """``url``, found while ``article`` went through a stage."""
        return cls(url, article.job_id, article.item_id, article.depth + 1, priority)


@dataclass(frozen=True, slots=True)
class Forward:
    to: str | None = None
    found: tuple[NewUrl, ...] = ()


@dataclass(frozen=True, slots=True)
class Final:
    state: State
    reason: Reason | None = None
    detail: str = ""
    duplicate_of: str | None = None
    # The stage wrote the final state itself, in its own transaction (the store stage).
    recorded: bool = False
    found: tuple[NewUrl, ...] = ()


@dataclass(frozen=True, slots=True)
class Retry:
    reason: Reason
    detail: str = ""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class Defer:
    wait: float
    url: str


Outcome = Forward | Final | Retry | Defer


def failed(reason: Reason, detail: str = "") -> Final:
    return Final(State.FAILED, reason, detail)


def from_error(error: SluiceError) -> Final | Retry:
    """The outcome a stage's :class:`SluiceError` stands for."""
    reason = Reason(error.reason)
    if isinstance(error, RetryableError):
        return Retry(reason, error.detail, error.retry_after)
    assert isinstance(error, PermanentError), error
    return failed(reason, error.detail)
