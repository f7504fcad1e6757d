"""The base class of sluice's tasks: retries show no more of an article than its label.

Every message carries a label (``argsrepr``, e.g. ``job=… item=… id=…``) that stands in for
its arguments in worker logs, task events and Flower, so submitted URLs and texts stay out
of them (:func:`workers.routing.publish`). Celery's ``Task.retry`` gets in the way twice:

* it builds the new message from the request without that label, so the retried task
  would show the whole article;
* the ``task-retried`` event carries the traceback of the error being retried, whose
  message often names the URL (``http_503: https://…``). Here the retry keeps only the
  error's reason code and drops the chain.

Sluice also counts tries itself (:mod:`workers.running`), so Celery's own retry limit is off.
"""

from __future__ import annotations

import sys
from typing import Any

from celery import Task
from celery.exceptions import Retry

from sluice.shared.article import label_of
from sluice.shared.errors import SluiceError
from sluice.workers.recovery.item_failed import ItemFailed

__all__ = ["LabelledTask", "label_for", "retry_shown"]


def label_for(args: Any) -> str:
    """A label for a task's ``args`` (an article payload first) that names no URL or text."""
    payload = args[0] if isinstance(args, list | tuple) and args else None
    if isinstance(payload, dict) and "job_id" in payload:
        return f"({label_of(payload.get('job_id'), payload.get('item_id'), payload.get('id'))})"
    return "(article)"


class LabelledTask(Task):  # type: ignore[misc]  # Celery ships no types: Task is Any
    """A Celery task whose retries keep the request's label and drop the error's details."""

    # workers.running decides when to give up (SLUICE_FETCH_MAX_RETRIES, unlimited for an
    # unavailable store or broker); Celery's default of 3 would raise first.
    max_retries = None
    # A dead-lettered item fails its task on purpose: logged as an expected failure, one
    # line without a traceback, while Flower and the task-failed event still show it.
    throws = (ItemFailed,)

    def signature_from_request(
        self,
        request: Any = None,
        args: Any = None,
        kwargs: Any = None,
        queue: str | None = None,
        **extra_options: Any,
    ) -> Any:
        request = self.request if request is None else request
        if "argsrepr" not in extra_options:
            extra_options["argsrepr"] = getattr(request, "argsrepr", None) or label_for(
                request.args if args is None else args
            )
        extra_options.setdefault("kwargsrepr", getattr(request, "kwargsrepr", None) or "{}")
        return super().signature_from_request(request, args, kwargs, queue, **extra_options)

    def retry(
        self, *args: Any, throw: bool = True, reason: str | None = None, **kwargs: Any
    ) -> Any:
        """``reason``: what is retried, when no error is being handled (a Retry outcome)."""
        cause = sys.exc_info()[1]  # the error being handled, whose retry this is
        retry = super().retry(*args, throw=False, **kwargs)
        if reason is None and isinstance(cause, SluiceError):
            reason = cause.reason
        elif reason is None:  # an unavailable store or broker: its message may hold values
            reason = type(cause).__name__ if cause is not None else "retry"
        _show(retry, str(reason))
        if throw:
            raise retry from None  # the chained error's message may name the URL
        return retry


def retry_shown(reason: str, when: float) -> Retry:
    """The exception that ends a delivery as *retried* in Celery's eyes (Flower, the
    ``task-retried`` event, the log) with ``reason``, when the item itself was put back
    elsewhere (in the crawl frontier) and no new message is sent."""
    retry = Retry(exc=None, when=when)
    _show(retry, reason)
    return retry


def _show(retry: Retry, reason: str) -> None:
    retry.message = f"Retry {retry.humanize()}: {reason}"
    retry.args = (retry.message, None, retry.when)  # what events and logs show
