"""sluice's exception tree, in one place.

::

    SluiceError
     ├── RetryableError     transient: network trouble, 5xx, 429, a locked database.
     │                      Tasks retry it with exponential backoff and jitter, then give up
     │                      with its reason.
     └── PermanentError     the item cannot succeed: 4xx, not HTML, nothing to extract.
                            Tasks record it as the item's final state, ``failed`` with its reason.

Every error carries its :class:`shared.reasons.Reason` (``http_404``, ``timeout``,
``extract_empty`` …), stored and counted, and a human ``detail``. Both travel in ``args`` so
errors pickle. Stages return outcomes (:mod:`shared.outcomes`); these errors are for helpers
deep inside a stage, and the runner reads them as the matching outcome.
"""

from __future__ import annotations

from sluice.shared.reasons import Reason

__all__ = ["PermanentError", "RetryableError", "SluiceError"]


class SluiceError(Exception):
    """Base of every error sluice raises on purpose."""

    def __init__(self, reason: Reason | str, detail: str = "") -> None:
        reason = Reason(reason)
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


class RetryableError(SluiceError):
    """A transient failure: worth trying again later.

    ``retry_after`` (seconds), when the server said so, is the least wait before the next try.
    """

    def __init__(
        self, reason: Reason | str, detail: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(reason, detail)
        self.args = (self.reason, detail, retry_after)
        self.retry_after = retry_after


class PermanentError(SluiceError):
    """A final failure: trying again cannot help."""
