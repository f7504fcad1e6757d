"""How each stage's runs ended, counted in Redis by the workers: one hash field per
``(stage, outcome kind, reason)``, as datatrove counts every drop by reason.

Kinds are ``forward``, ``final``, ``retry`` and ``defer``; a final outcome's reason is its
:class:`shared.reasons.Reason` (or its state, ``stored``/``duplicate``, when it has none).
The field count is bounded by stages × kinds × reasons, whatever the crawl.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import redis

from sluice.shared.outcomes import Defer, Final, Forward, Outcome, Retry
from sluice.shared.redis_state import KEY_PREFIX, as_text, get_redis

__all__ = ["OUTCOMES_KEY", "count_outcome", "kind_and_reason", "read_outcomes"]

log = logging.getLogger(__name__)

OUTCOMES_KEY = f"{KEY_PREFIX}metrics:outcomes"  # "<stage>\t<kind>\t<reason>" -> count
_SEPARATOR = "\t"


def kind_and_reason(outcome: Outcome) -> tuple[str, str]:
    """The labels ``outcome`` is counted under."""
    if isinstance(outcome, Forward):
        return "forward", outcome.to or ""
    if isinstance(outcome, Final):
        return "final", str(outcome.reason or outcome.state)
    if isinstance(outcome, Retry):
        return "retry", str(outcome.reason)
    assert isinstance(outcome, Defer), outcome
    return "defer", ""


def count_outcome(stage: str, outcome: Outcome, client: redis.Redis | None = None) -> None:
    """Add one to the count of ``stage`` ending with ``outcome``.

    A count that cannot be written is logged and dropped: it must never fail the item.
    """
    field = _SEPARATOR.join((stage, *kind_and_reason(outcome)))
    try:
        (client or get_redis()).hincrby(OUTCOMES_KEY, field, 1)
    except redis.RedisError as exc:
        log.warning("stage outcome not counted: %s", exc)


def read_outcomes(client: redis.Redis) -> Iterator[tuple[str, str, str, int]]:
    """Every ``(stage, kind, reason, count)`` counted so far."""
    for field, count in client.hgetall(OUTCOMES_KEY).items():
        stage, kind, reason = as_text(field).split(_SEPARATOR, 2)
        yield stage, kind, reason, int(count)
