"""The exception that ends a task whose item was dead-lettered, so Celery records a failure.

By the time it is raised the item is already recorded as ``failed`` (with its reason, in
the store), so nothing about it is retried: the task fails, Celery acknowledges the message
(``task_acks_on_failure_or_timeout``, true by default), sends ``task-failed`` and Flower
lists the task under its failures. Its message carries the reason code, the stage and the
item's label, never the error's detail, which may name a URL.
"""

from __future__ import annotations

__all__ = ["ItemFailed"]


class ItemFailed(Exception):
    """The item ended ``failed`` with ``reason`` at ``stage``; ``label`` names it by ids."""

    def __init__(self, reason: str, stage: str, label: str = "") -> None:
        reason = str(reason)  # a plain string in the event, not a Reason's repr
        super().__init__(reason, stage, label)  # in args, so the error pickles
        self.reason = reason
        self.stage = stage
        self.label = label

    def __str__(self) -> str:
        return f"{self.reason} at {self.stage}" + (f" ({self.label})" if self.label else "")
