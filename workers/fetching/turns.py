"""A fetch task's turn at its host, as the crawl frontier gave it (:mod:`.frontier`).

A fetch task carries the lease token of its release. :func:`take_turn` checks it (a stale
redelivery, whose lease was reclaimed after its worker died, is dropped) and renews the
lease; the runner then ends the turn: :meth:`Turn.free` as soon as the request is over (the
host's next URL may go), :meth:`Turn.done` once the item has been handed on, or
:meth:`Turn.again` to put it back in line (robots.txt or a redirect took the turn, a retry
after a transient error).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from sluice.shared.redis_state import get_redis
from sluice.workers.fetching.frontier import (
    PROBE_FIELD,
    RETRIES_FIELD,
    TOKEN_FIELD,
    Frontier,
    arrival_of,
    enter,
)
from sluice.workers.fetching.pump import lease_ms

__all__ = ["RETRIES_FIELD", "Turn", "take_turn"]

log = logging.getLogger(__name__)


@functools.cache
def _frontier() -> Frontier:
    return Frontier(get_redis())


@dataclass(slots=True)
class Turn:
    """The lease ``token`` on ``item``'s turn; ``ended`` once it is done or back in line."""

    item: str
    token: str
    retries: int
    ended: bool = field(default=False)

    def free(self) -> None:
        """The request is over: the host's next URL may be released."""
        _frontier().finish(self.item, self.token, free_only=True)

    def done(self) -> None:
        """The item left the fetch stage: forget it."""
        _frontier().finish(self.item, self.token)
        self.ended = True

    def again(self, payload: dict[str, Any], url: str | None, delay: float) -> None:
        """Back in line, at its place, in the queue of ``url``'s host, after ``delay`` s."""
        clean = {k: v for k, v in payload.items() if k not in (TOKEN_FIELD, PROBE_FIELD)}
        _frontier().finish(self.item, self.token, again=clean, url=url, delay=delay)
        self.ended = True


def take_turn(payload: dict[str, Any]) -> Turn | None:
    """The turn of the fetch task carrying ``payload``, or ``None`` when it has none: a stale
    delivery (dropped) or a message not released by the frontier (put into it)."""
    item = f"{payload.get('job_id')}:{payload.get('item_id')}"
    token = payload.get(TOKEN_FIELD)
    frontier = _frontier()
    if token is None:
        # Sent straight to the fetch queue (by an older producer): wait for the host's turn.
        clean = {k: v for k, v in payload.items() if k != TOKEN_FIELD}
        enter([arrival_of(clean)], frontier.client)
        return None
    if not frontier.begin(item, str(token), lease_ms()):
        log.info("job=%s item=%s: stale fetch delivery dropped", *item.split(":", 1))
        return None
    return Turn(item, str(token), int(payload.get(RETRIES_FIELD) or 0))
