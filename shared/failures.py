"""The dead-letter store: final failures with their stage, reason, last error and payload.

Recording a failure and giving its item the final state ``failed`` happen in one
transaction. :func:`reopen_failures` hands failed items back for another try.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update

from sluice.shared.db.engine import insert_for, read_scope, session_scope
from sluice.shared.db.schema import failures, items
from sluice.shared.jobs import finish_item
from sluice.shared.states import State

__all__ = ["Failure", "list_failures", "record_failure", "reopen_failures"]


@dataclass(frozen=True, slots=True)
class Failure:
    id: int
    job_id: str
    item_id: int
    stage: str
    reason: str
    error: str | None
    payload: dict[str, Any]
    attempts: int
    created_at: Any
    retried_at: Any


def record_failure(
    job_id: str,
    item_id: int,
    stage: str,
    reason: str,
    error: str,
    payload: dict[str, Any],
    attempts: int = 1,
    article_id: str | None = None,
) -> None:
    """Dead-letter an item and give it the final state ``failed`` with ``reason``."""
    with session_scope() as conn:
        _upsert(conn, job_id, item_id, stage, reason, error, payload, attempts)
        finish_item(
            job_id,
            item_id,
            State.FAILED,
            reason=reason,
            detail=f"{stage}: {error}",
            article_id=article_id,
            conn=conn,
        )


def _upsert(
    conn: Connection,
    job_id: str,
    item_id: int,
    stage: str,
    reason: str,
    error: str,
    payload: dict[str, Any],
    attempts: int,
) -> None:
    row = {
        "job_id": job_id,
        "item_id": item_id,
        "stage": stage,
        "reason": reason,
        "error": error[:4000],
        "payload": payload,
        "attempts": attempts,
    }
    stmt = insert_for(conn, failures).values(**row)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[failures.c.job_id, failures.c.item_id],
            set_={
                **{
                    k: stmt.excluded[k] for k in ("stage", "reason", "error", "payload", "attempts")
                },
                "created_at": func.now(),
                "retried_at": None,
            },
        )
    )


def list_failures(
    reason: str | None = None,
    stage: str | None = None,
    job_id: str | None = None,
    ids: list[int] | None = None,
    pending_only: bool = True,
    limit: int | None = None,
) -> list[Failure]:
    """Failures, newest first; ``pending_only`` leaves out those already handed back."""
    query = select(failures).order_by(failures.c.created_at.desc(), failures.c.id.desc())
    if reason:
        query = query.where(failures.c.reason == reason)
    if stage:
        query = query.where(failures.c.stage == stage)
    if job_id:
        query = query.where(failures.c.job_id == job_id)
    if ids:
        query = query.where(failures.c.id.in_(ids))
    if pending_only:
        query = query.where(failures.c.retried_at.is_(None))
    if limit:
        query = query.limit(limit)
    with read_scope() as conn:
        return [Failure(**row._mapping) for row in conn.execute(query)]


def reopen_failures(selected: list[Failure]) -> list[Failure]:
    """Mark failures as retried and put their items back to ``queued``; returns those reopened.

    The caller re-enqueues each payload at its stage afterwards.
    """
    reopened = []
    with session_scope() as conn:
        for failure in selected:
            marked = conn.execute(
                update(failures)
                .where(failures.c.id == failure.id, failures.c.retried_at.is_(None))
                .values(retried_at=func.now())
            ).rowcount
            if not marked:
                continue
            conn.execute(
                update(items)
                .where(
                    items.c.job_id == failure.job_id,
                    items.c.item_id == failure.item_id,
                    items.c.state == State.FAILED.value,
                )
                .values(state=State.QUEUED.value, reason=None, detail=None, updated_at=func.now())
            )
            reopened.append(failure)
    return reopened
