"""Rebuilding the Redis dedup index from the store, the source of truth.

Every stored article gets its claims back (its submitted and canonical URL, or its text for a
URL-less article), owned by the item that stored it and pointing at the article itself, or at
its original when it is a duplicate. Originals also get their text fingerprint and their
near-duplicate entries back; duplicates stay out of the near index, as at ingest.

The rebuild only adds what is missing and never overwrites a live entry, so it is safe to run
while workers decide; ``clear=True`` first deletes the whole index (do that with the
pipeline idle, e.g. after changing the near-duplicate settings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select

from sluice.shared import fingerprints
from sluice.shared.article import Article
from sluice.shared.db.engine import read_scope
from sluice.shared.db.schema import articles, items
from sluice.shared.identity import text_fingerprint
from sluice.shared.states import State
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.dedup.keys import claimed_identities

__all__ = ["RebuildReport", "rebuild_index"]

_BATCH = 500
_UNKNOWN_ITEM = "store:0"  # owner of a claim whose storing item is no longer recorded


@dataclass
class RebuildReport:
    """What a rebuild went through and put back."""

    originals: int = 0
    duplicates: int = 0
    claims_restored: int = 0
    claims_kept: int = 0
    cleared_keys: int = 0

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _batches(database_url: str | None) -> Iterator[list[dict[str, Any]]]:
    """Stored articles in id order, a batch at a time (keyset pagination, bounded memory)."""
    columns = (
        articles.c.id,
        articles.c.job_id,
        articles.c.url,
        articles.c.canonical_url,
        articles.c.text,
        articles.c.duplicate_of,
    )
    last = ""
    while True:
        with read_scope(database_url) as conn:
            rows = [
                dict(r._mapping)
                for r in conn.execute(
                    select(*columns)
                    .where(articles.c.id > last)
                    .order_by(articles.c.id)
                    .limit(_BATCH)
                )
            ]
            if not rows:
                return
            owners = _owners(conn, rows)
        for row in rows:
            row["item"] = owners.get(row["id"], _UNKNOWN_ITEM)
        yield rows
        last = rows[-1]["id"]


def _owners(conn: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The item that stored each article (in the article's own job when there are several)."""
    jobs = {row["id"]: row["job_id"] for row in rows}
    found = conn.execute(
        select(items.c.article_id, items.c.job_id, items.c.item_id)
        .where(
            items.c.article_id.in_(list(jobs)),
            items.c.state.in_([State.STORED.value, State.DUPLICATE.value]),
        )
        .order_by(items.c.job_id, items.c.item_id)
    )
    owners: dict[str, str] = {}
    for article_id, job_id, item_id in found:
        own_job = job_id == jobs[article_id]
        current = owners.get(article_id)
        if current is None or (own_job and not current.startswith(f"{job_id}:")):
            owners[article_id] = f"{job_id}:{item_id}"
    return owners


def rebuild_index(
    index: DedupIndex,
    database_url: str | None = None,
    clear: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RebuildReport:
    """Put every stored article back into ``index``; ``progress`` gets each batch's size."""
    report = RebuildReport()
    if clear:
        report.cleared_keys = index.clear()
    for batch in _batches(database_url):
        pipe = index.client.pipeline(transaction=False)
        queued: list[str] = []  # what each pipelined command is: "claim" or "original"
        for row in batch:
            article = Article(
                row["job_id"],
                0,
                id=row["id"],
                url=row["url"],
                canonical_url=row["canonical_url"],
                text=row["text"] or "",
            )
            target = row["duplicate_of"] or row["id"]
            for identity in sorted(claimed_identities(article)):
                index.restore_claim(identity, row["item"], target, client=pipe)
                queued.append("claim")
            if row["duplicate_of"]:
                report.duplicates += 1
                continue
            report.originals += 1
            signature = fingerprints.fingerprint(article.text, index.layout) if index.near else None
            index.restore_original(article.id, text_fingerprint(article.text), signature, pipe)
            queued.append("original")
        results = pipe.execute()
        for kind, result in zip(queued, results, strict=True):
            if kind == "claim":
                report.claims_restored += bool(result)
                report.claims_kept += not result
        if progress is not None:
            progress(len(batch))
    return report
