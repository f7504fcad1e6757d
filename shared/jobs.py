"""Jobs and their items: what was submitted, and the state each item has reached.

State changes only move forward (see :func:`shared.states.rank`), so a stage that runs twice,
or late, never drags an item back; a final state is written once and then kept.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from sluice.shared.db.engine import read_scope, session_scope
from sluice.shared.db.schema import items, jobs
from sluice.shared.states import FINAL_STATES, State, rank

__all__ = [
    "ItemSpec",
    "JobOptions",
    "advance_item",
    "create_job",
    "finish_item",
    "job_counts",
    "job_crawl",
    "job_exists",
    "job_options",
    "list_items",
    "mark_enqueued",
    "new_job_id",
    "skip_recorded",
    "sources_found_by",
    "waiting_items",
]

_NOT_FINAL = [s.value for s in State if s not in FINAL_STATES]


@dataclass(frozen=True, slots=True)
class ItemSpec:
    """One thing to submit: ``kind`` is ``url``, ``text``, ``html`` or ``warc`` (a record).

    ``page_id`` names a page already in the store (a WARC record's), so the item can still
    be sent after an interruption. With ``state`` (a final one) and ``reason`` the item is
    recorded as already ended: a filtered or unusable record. ``entry`` keeps a feed entry's
    guid, title and date while the item waits in the store for room in the frontier.
    """

    kind: str
    source: str | None
    page_id: str | None = None
    state: State | None = None
    reason: str | None = None
    detail: str | None = None
    entry: dict[str, Any] | None = None
    # A URL a stage found: the item that found it, and its depth (shared.outcomes.NewUrl).
    found_by: int | None = None
    depth: int | None = None


@dataclass(frozen=True, slots=True)
class JobOptions:
    """What the submission that started a job asked of every item: keep only articles in
    ``languages`` (``--language``; empty keeps all), and fetch again URLs seen before
    (``--refetch``). Kept with the job so that an item sent later from the store, by the
    sender of waiting found work or by ``submit --resume``, carries them too; and the URL
    and date filters (``record_filter``, as :meth:`producers.filters.RecordFilter.to_dict`
    gives them), which ``submit --resume`` applies to the archives it reads on."""

    languages: tuple[str, ...] = ()
    refetch: bool = False
    record_filter: dict[str, Any] | None = None


def new_job_id() -> str:
    return uuid.uuid4().hex[:12]


def create_job(
    job_id: str,
    specs: Sequence[ItemSpec],
    description: str | None = None,
    *,
    state: State = State.QUEUED,
    conn: Connection | None = None,
    crawl: dict[str, Any] | None = None,
    options: JobOptions | None = None,
) -> int:
    """Record a job (or add to it) with its items in ``state``, before anything is enqueued.

    Producers that send in batches record ``recorded`` and call :func:`mark_enqueued` after
    each batch is sent. Returns the item id of the first new item; the others follow in order.
    With ``conn`` it runs inside the caller's transaction. ``crawl`` (a site crawl's settings)
    and ``options`` (:class:`JobOptions`) are kept with a new job; a job added to keeps its own.
    """
    if conn is None:
        with session_scope() as own:
            return create_job(
                job_id, specs, description, state=state, conn=own, crawl=crawl, options=options
            )
    # One statement takes the item ids, so that stages adding the work they found to one
    # job at once (workers.found_work) never hand out the same ids twice.
    grown = conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id)
        .values(total=jobs.c.total + len(specs))
        .returning(jobs.c.total)
    ).scalar()
    if grown is None:
        options = options or JobOptions()
        conn.execute(
            insert(jobs).values(
                id=job_id,
                total=len(specs),
                description=description,
                crawl=crawl,
                languages=list(options.languages) or None,
                refetch=options.refetch or None,
                record_filter=options.record_filter,
            )
        )
        first_item = 0
    else:
        first_item = int(grown) - len(specs)
    for start in range(0, len(specs), 5000):
        conn.execute(
            insert(items),
            [
                {
                    "job_id": job_id,
                    "item_id": first_item + start + n,
                    "kind": spec.kind,
                    "source": spec.source,
                    "state": (spec.state or state).value,
                    "page_id": spec.page_id,
                    "reason": spec.reason,
                    "detail": spec.detail,
                    "entry": spec.entry,
                    "found_by": spec.found_by,
                    "depth": spec.depth,
                }
                for n, spec in enumerate(specs[start : start + 5000])
            ],
        )
    return first_item


def mark_enqueued(job_id: str, item_ids: Iterable[int]) -> None:
    """These items had their messages sent: ``recorded`` becomes ``queued``.

    Only ``recorded`` items change, so one a worker has already moved on keeps its state.
    Consecutive ids are updated as one range.
    """
    ids = sorted(set(item_ids))
    runs = [
        [n for _, n in run]
        for _, run in itertools.groupby(enumerate(ids), key=lambda pair: pair[1] - pair[0])
    ]
    with session_scope() as conn:
        for run in runs:
            conn.execute(
                update(items)
                .where(
                    items.c.job_id == job_id,
                    items.c.item_id >= run[0],
                    items.c.item_id <= run[-1],
                    items.c.state == State.RECORDED.value,
                )
                .values(state=State.QUEUED.value, updated_at=func.now())
            )


def advance_item(
    job_id: str,
    item_id: int,
    state: State,
    *,
    article_id: str | None = None,
    page_id: str | None = None,
    conn: Connection | None = None,
) -> None:
    """Move an item forward to a non-final ``state`` (ignored if it is already further on);
    ``page_id`` records the page its fetch kept, from which it can be extracted again."""
    lower = [s for s in _NOT_FINAL if rank(s) < rank(state)]
    values: dict[str, Any] = {"state": state.value, "updated_at": func.now()}
    if article_id:
        values["article_id"] = article_id
    if page_id:
        values["page_id"] = page_id
    stmt = (
        update(items)
        .where(items.c.job_id == job_id, items.c.item_id == item_id, items.c.state.in_(lower))
        .values(**values)
    )
    _run(stmt, conn)


def finish_item(
    job_id: str,
    item_id: int,
    state: State,
    *,
    reason: str | None = None,
    detail: str | None = None,
    article_id: str | None = None,
    duplicate_of: str | None = None,
    conn: Connection | None = None,
) -> None:
    """Give an item its final ``state``; an item that already has one keeps it."""
    assert state in FINAL_STATES, state
    stmt = (
        update(items)
        .where(
            items.c.job_id == job_id,
            items.c.item_id == item_id,
            items.c.state.in_(_NOT_FINAL),
        )
        .values(
            state=state.value,
            reason=reason,
            detail=(detail or "")[:2000] or None,
            article_id=article_id,
            duplicate_of=duplicate_of,
            updated_at=func.now(),
        )
    )
    _run(stmt, conn)


def waiting_items(job_id: str, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` of the job's items still ``recorded`` (their messages not sent),
    oldest first: item id, source, entry, and the finder and depth of found work."""
    with read_scope() as conn:
        rows = conn.execute(
            select(items.c.item_id, items.c.source, items.c.entry, items.c.found_by, items.c.depth)
            .where(items.c.job_id == job_id, items.c.state == State.RECORDED.value)
            .order_by(items.c.item_id)
            .limit(limit)
        )
        return [dict(row._mapping) for row in rows]


def skip_recorded(job_id: str, reason: str, detail: str) -> int:
    """End every item of the job still ``recorded`` as ``skipped`` with ``reason``; returns
    how many."""
    with session_scope() as conn:
        done = conn.execute(
            update(items)
            .where(items.c.job_id == job_id, items.c.state == State.RECORDED.value)
            .values(
                state=State.SKIPPED.value,
                reason=reason,
                detail=detail[:2000],
                entry=None,
                updated_at=func.now(),
            )
        )
    return int(done.rowcount or 0)


def _run(stmt: Any, conn: Connection | None) -> None:
    if conn is not None:
        conn.execute(stmt)
        return
    with session_scope() as own:
        own.execute(stmt)


def job_crawl(job_id: str) -> dict[str, Any] | None:
    """The crawl settings kept with ``job_id``, or None for a job that is no site crawl."""
    with read_scope() as conn:
        value = conn.execute(select(jobs.c.crawl).where(jobs.c.id == job_id)).scalar()
    return dict(value) if value else None


def job_options(job_id: str) -> JobOptions:
    """The :class:`JobOptions` kept with ``job_id``: what its senders of recorded items
    (:mod:`workers.crawl.waiting`, :mod:`producers.resume`) give every item they send. A job
    started before they were kept, or not found, has none."""
    with read_scope() as conn:
        row = conn.execute(
            select(jobs.c.languages, jobs.c.refetch, jobs.c.record_filter).where(
                jobs.c.id == job_id
            )
        ).first()
    if row is None:
        return JobOptions()
    return JobOptions(tuple(row.languages or ()), bool(row.refetch), row.record_filter)


def job_exists(job_id: str) -> bool:
    with read_scope() as conn:
        return conn.execute(select(jobs.c.id).where(jobs.c.id == job_id)).first() is not None


def job_counts(job_id: str | None = None) -> dict[str, Any]:
    """Counts per state (and per failure reason) for one job, or for everything."""
    with read_scope() as conn:
        query = select(items.c.state, items.c.reason, func.count()).group_by(
            items.c.state, items.c.reason
        )
        total_query = select(func.coalesce(func.sum(jobs.c.total), 0))
        if job_id is not None:
            query = query.where(items.c.job_id == job_id)
            total_query = total_query.where(jobs.c.id == job_id)
        rows = conn.execute(query).all()
        submitted = int(conn.execute(total_query).scalar() or 0)
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    for state, reason, count in rows:
        states[state] = states.get(state, 0) + count
        if reason:
            reasons[reason] = reasons.get(reason, 0) + count
    final = sum(n for s, n in states.items() if s in FINAL_STATES)
    recorded = sum(states.values())
    return {
        "job": job_id,
        "submitted": submitted,
        "final": final,
        "pending": recorded - final,
        "missing": submitted - recorded,
        "states": states,
        "reasons": reasons,
    }


def sources_found_by(job_id: str, finder: int) -> set[str]:
    """The URLs already recorded as found by item ``finder`` of the job."""
    with read_scope() as conn:
        rows = conn.execute(
            select(items.c.source).where(items.c.job_id == job_id, items.c.found_by == finder)
        )
        return {row[0] for row in rows}


def list_items(job_id: str, states: Iterable[str] | None = None) -> list[dict[str, Any]]:
    with read_scope() as conn:
        query = select(items).where(items.c.job_id == job_id).order_by(items.c.item_id)
        if states is not None:
            query = query.where(items.c.state.in_(list(states)))
        return [dict(row._mapping) for row in conn.execute(query)]
