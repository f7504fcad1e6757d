"""Items that stopped moving between stages: found in the store, and sent back to the start.

An item past its fetch (or a text or page item sent straight to extract) travels only as a
task message. When a worker dies in the instant between Redis handing it a message and the
worker recording it as unacknowledged, that message is gone, and the item would wait in
its state for ever. :mod:`workers.recovery.lost_items` decides which items that is; this module is
its store side.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update

from sluice.shared.db.engine import read_scope, session_scope
from sluice.shared.db.schema import items
from sluice.shared.states import State

__all__ = ["IN_TRANSIT", "StalledItem", "send_back", "stalled_items"]

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
        select(
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
        .where(in_transit, items.c.updated_at < before)
        .order_by(items.c.updated_at)
        .limit(limit)
    )
    with read_scope() as conn:
        return [StalledItem(*row) for row in conn.execute(query)]


def send_back(item: StalledItem) -> bool:
    """Put ``item`` back to ``queued``, if nothing moved it since it was found stalled;
    returns whether it was (so that of two sweepers, one sends it)."""
    stmt = (
        update(items)
        .where(
            items.c.job_id == item.job_id,
            items.c.item_id == item.item_id,
            items.c.state == item.state,
            # Not moved since: ``<=``, as SQLite keeps the time as text, to the second.
            items.c.updated_at <= item.updated_at,
        )
        .values(state=State.QUEUED.value, updated_at=func.now())
    )
    with session_scope() as conn:
        return conn.execute(stmt).rowcount == 1
