"""The order in which a worker serving several stages takes their queues.

Kombu's Redis transport asks Redis for the next message of a worker's queues in one BRPOP,
which answers from the first non-empty queue in the order given. By default kombu rotates
that order after each message, so a worker serving extract, dedup, tag and store takes one
task of each in turn and no queue ever fills. :class:`TagLast` keeps one order instead:

* store and dedup first: they are cheap, and they finish or forward items;
* extract next;
* tag last, so the articles waiting for it gather in its queue and a tag task finds a batch
  to tag in one spaCy pass (:mod:`workers.tagging.tag_ahead`, when its batch size is above 1).

Round robin is the default: with batches of one there is nothing to gather, and it stores
the first articles sooner.

Tag waits only while extract has work, and extract's queue is bounded by the producers'
backpressure (``SLUICE_QUEUE_HIGH_WATER`` holds for every stage's queue), so tagging is
delayed, never starved. Workers that serve the tag stage alone are not affected.
"""

from __future__ import annotations

from collections.abc import Iterable

from kombu.utils.scheduling import priority_cycle

from sluice.workers.pipeline import consume_order

__all__ = ["CONSUME_ORDER", "TagLast", "strategy"]

# From the pipeline table's consume_rank column: store, dedup, extract, tag, fetch.
CONSUME_ORDER: tuple[str, ...] = consume_order()


class TagLast(priority_cycle):
    """Kombu queue cycle: a worker's queues always in :data:`CONSUME_ORDER`, others after."""

    def update(self, it: Iterable[str]) -> None:
        rank = {stage: n for n, stage in enumerate(CONSUME_ORDER)}
        self.items[:] = sorted(it, key=lambda queue: rank.get(queue, len(rank)))


def strategy(order: str) -> str:
    """The kombu ``queue_order_strategy`` for the ``SLUICE_QUEUE_ORDER`` setting."""
    return f"{__name__}:TagLast" if order == "tag_last" else "round_robin"
