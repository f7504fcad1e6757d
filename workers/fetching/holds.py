"""A producer's turn at a host: what it holds while its request is in flight.

A fetch worker's request runs on a turn the crawl frontier released to it; a producer's
request (a feed or sitemap being expanded, a site being discovered, a remote archive)
takes the host's turn itself with :class:`HostHold`, waiting in the producer's process
while an item or another producer is in flight at the host. The frontier keeps the host
out of the pumps' hands until the hold ends, so no two requests to one host are ever in
flight at once. A hold lasts ``SLUICE_FETCH_LEASE`` at most unless renewed
(:meth:`HostHold.keep`); a producer that dies holding one frees the host when it lapses.
"""

from __future__ import annotations

import random
import time
import uuid
from types import TracebackType

from sluice.workers.fetching.frontier import Frontier

__all__ = ["HostHold"]

# How often a producer asks again for a host whose turn is taken (with jitter).
_RETRY = 0.05


class HostHold:
    """The turn of ``host`` for one producer's requests; a context that takes and lets go."""

    def __init__(self, frontier: Frontier, host: str, lease: float) -> None:
        self.frontier = frontier
        self.host = host
        self.lease = lease
        self.token = uuid.uuid4().hex
        self.holder = f"producer:{self.token}"  # for robots.txt's claim, and logs

    def _ms(self, extra: float) -> int:
        return int((self.lease + max(0.0, extra)) * 1000)

    def take(self) -> None:
        """Wait until the host's turn is this hold's (at once when it already is)."""
        while not self.frontier.hold(self.host, self.token, self._ms(0.0)):
            time.sleep(random.uniform(_RETRY, 2 * _RETRY))

    def keep(self, seconds: float) -> bool:
        """Renew the hold to last ``seconds`` more than a lease (a wait for the host's gate,
        or a long download); False when it had lapsed and the host is someone else's."""
        return self.frontier.hold(self.host, self.token, self._ms(seconds))

    def let_go(self) -> None:
        """End the hold: the host's next URL may be released."""
        self.frontier.let_go(self.host, self.token)

    def __enter__(self) -> HostHold:
        self.take()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.let_go()
