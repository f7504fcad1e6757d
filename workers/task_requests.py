"""The worker-side request for stage tasks: what happens when a task dies abnormally.

Runs in the worker's main process. A task killed by the hard time limit would otherwise
be acknowledged and forgotten; here its message is first published again, so the
attempt count (:mod:`workers.recovery.attempts`) decides between another try and the dead-letter
store. A task whose worker process died is handed back by Celery itself
(``task_reject_on_worker_lost``); here we only remember why.
"""

from __future__ import annotations

import logging
from typing import Any

from billiard.exceptions import WorkerLostError
from celery.worker.request import Request

from sluice.workers.recovery.attempts import Attempts

__all__ = ["StageRequest"]

log = logging.getLogger(__name__)


def _attempts(request: Request) -> Attempts | None:
    try:
        payload = request.args[0]
        return Attempts(payload["job_id"], payload["item_id"], request.name.rsplit(".", 1)[-1])
    except (IndexError, KeyError, TypeError):
        return None


class StageRequest(Request):  # type: ignore[misc]  # Celery ships no types: Request is Any
    def on_timeout(self, soft: bool, timeout: float) -> None:
        if not soft and self.task.acks_late:
            attempts = _attempts(self)
            if attempts is not None:
                attempts.note_abnormal_end(f"time_limit: hard limit of {timeout}s exceeded")
            # Publish the work again before Celery acknowledges the killed delivery.
            self.task.app.send_task(
                self.name,
                args=self.args,
                kwargs=self.kwargs,
                queue=self.delivery_info.get("routing_key") or self.name.rsplit(".", 1)[-1],
                argsrepr=self.argsrepr,
            )
        super().on_timeout(soft, timeout)

    def on_failure(
        self, exc_info: Any, send_failed_event: bool = True, return_ok: bool = False
    ) -> None:
        if isinstance(exc_info.exception, WorkerLostError):
            attempts = _attempts(self)
            if attempts is not None:
                attempts.note_abnormal_end(f"worker_lost: {exc_info.exception}")
        super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)
