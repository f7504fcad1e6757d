"""Items that stopped moving between stages: found in the store, and sent back to the start.

An item past its fetch (or a text or page item sent straight to extract) travels only as a
task message. When that message is lost (a worker killed between taking it and recording
it, Redis losing its last second), the item would wait in its state for ever.
:mod:`workers.recovery.reconciler` decides which items that is; this module is its store
side: the store is the truth of where each item is.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update

from sluice.shared.db.engine import read_scope, session_scope
from sluice.shared.db.schema import items
from sluice.shared.states import State

__all__ = ["IN_TRANSIT", "StalledItem", "in_transit", "items_by_key", "send_back", "stalled_items"]

# States in which an item is only a message on its way through the CPU stages.
IN_TRANSIT = (State.FETCHED, State.EXTRACTED, State.TAGGED)


@dataclass(frozen=True, slots=True)
class StalledItem:
    """An item whose state has not changed since ``updated_at``."""

    job_id: str
    item_id: int
    kind: str
    source: str | None
    page_id: str | None
    state: str
    updated_at: datetime
    found_by: int | None = None  # work a stage created: its provenance (shared.jobs.ItemSpec)
    depth: int | None = None

    @property
    def key(self) -> str:
        return f"{self.job_id}:{self.item_id}"

    @property
    def in_transit(self) -> bool:
        """Only a task message carries it (a queued URL waits in the frontier instead)."""
        return in_transit(self.state, self.kind)


def in_transit(state: str, kind: str) -> bool:
    return state in IN_TRANSIT or (state == State.QUEUED.value and kind != "url")


_COLUMNS = (
    items.c.job_id,
    items.c.item_id,
    items.c.kind,
    items.c.source,
    items.c.page_id,
    items.c.state,
    items.c.updated_at,
    items.c.found_by,
    items.c.depth,
)


def items_by_key(keys: Iterable[str]) -> dict[str, StalledItem]:
    """The store's record of each item ``job:item`` of ``keys`` that it knows."""
    wanted: dict[str, list[int]] = {}
    for key in keys:
        job_id, _, item_id = key.rpartition(":")
        if job_id and item_id.isdigit():
            wanted.setdefault(job_id, []).append(int(item_id))
    found: dict[str, StalledItem] = {}
    with read_scope() as conn:
        for job_id, ids in wanted.items():
            query = select(*_COLUMNS).where(items.c.job_id == job_id, items.c.item_id.in_(ids))
            for row in conn.execute(query):
                item = StalledItem(*row)
                found[item.key] = item
    return found


def stalled_items(before: datetime, limit: int = 500) -> list[StalledItem]:
    """Items in transit whose state is older than ``before``, oldest first.

    Fetch items that are still ``queued`` wait in the crawl frontier, which has its own
    leases; text and page items that are ``queued`` travel as extract messages, so they
    count.
    """
    in_transit = or_(
        items.c.state.in_([s.value for s in IN_TRANSIT]),
        and_(items.c.state == State.QUEUED.value, items.c.kind != "url"),
    )
    query = (
        select(*_COLUMNS)
        .where(in_transit, items.c.updated_at < before)
        .order_by(items.c.updated_at)
        .limit(limit)
    )
    with read_scope() as conn:
        return [StalledItem(*row) for row in conn.execute(query)]


def send_back(item: StalledItem, state: State = State.QUEUED) -> bool:
    """Put ``item`` back to ``state`` (by default ``queued``; its own state records only
    when it was sent on), if nothing moved it since it was found stalled; returns whether
    it was (so that of two sweepers, one sends it)."""
    stmt = (
        update(items)
        .where(
            items.c.job_id == item.job_id,
            items.c.item_id == item.item_id,
            items.c.state == item.state,
            # Not moved since: ``<=``, as SQLite keeps the time as text, to the second.
            items.c.updated_at <= item.updated_at,
        )
        .values(state=state.value, updated_at=func.now())
    )
    with session_scope() as conn:
        return conn.execute(stmt).rowcount == 1
