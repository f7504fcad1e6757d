"""Feed claims as the store and the frontier hold them: for the test and the benchmark of
many feeds on one host, which count poll items whose claim is no longer their feed's."""

from __future__ import annotations

from typing import Any

__all__ = ["feed_claims", "stale_poll_items"]


def feed_claims(database_url: str) -> dict[int, str | None]:
    """Each feed's claim in the store, by feed id."""
    # sluice is imported here, not above: a benchmark imports this before its settings.
    from sqlalchemy import select

    from sluice.shared.db.engine import get_engine
    from sluice.shared.db.schema import feeds

    with get_engine(database_url).connect() as conn:
        return {int(i): c for i, c in conn.execute(select(feeds.c.id, feeds.c.claim))}


def stale_poll_items(frontier: Any, database_url: str) -> int:
    """Poll items in the frontier whose claim is not their feed's: the item is read twice,
    the store in between, so a poll ending (and its feed claimed again) meanwhile is not
    taken for a stale one."""
    from sluice.workers.feeds.scheduler import CLAIM_FIELD, poll_item

    ids = list(feed_claims(database_url))
    items = [poll_item(feed_id) for feed_id in ids]
    before = frontier.payloads(items)
    claims = feed_claims(database_url)
    after = frontier.payloads(items)
    stale = 0
    for feed_id, first, second in zip(ids, before, after, strict=True):
        if first is None or second is None or first[CLAIM_FIELD] != second[CLAIM_FIELD]:
            continue
        held = claims.get(feed_id)
        stale += held is not None and held != first[CLAIM_FIELD]
    return stale
