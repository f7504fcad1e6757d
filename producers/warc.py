"""``sluice submit --warc``: the HTML responses of WARC and ARC archives, straight to extract.

An archive (a file, or a URL read through the guarded fetcher) is read as a stream
(:mod:`producers.warc_records`). Records go in batches: each batch's pages are saved in the
store, then its items are recorded *and* the archive's offset moved past the batch in one
transaction (table ``ingestions``), then the items are sent to ``extract`` with
backpressure. So an interruption leaves either nothing of a batch or all of it recorded:
``sluice submit --resume JOB`` sends the recorded items (their pages are kept) and goes on
reading at the kept offset, and no record becomes two items.

Records that are not HTML pages are counted by kind, not recorded: ``request``,
``metadata``, ``warcinfo``, ``revisit`` (no payload of its own), ``not_html``, ``not_ok``
(a status other than 200), ``no_http_headers``, ``damaged`` (a record that cannot be parsed),
``truncated`` (a payload shorter than its ``Content-Length``); the bytes skipped over damage
up to the next record are counted too (``bytes_skipped``). A page over
``SLUICE_FETCH_MAX_BYTES`` is an item ``failed`` with ``too_large``, one whose compressed
body breaks ``failed`` with ``bad_encoding``; a page a filter leaves out is an item
``skipped`` with the filter's reason; a source that is no archive at all is an item
``failed`` with ``not_warc``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update

from sluice.producers.enqueue import ProgressCallback, enqueue_articles
from sluice.producers.filters import RecordFilter
from sluice.producers.lease import submission_lease
from sluice.producers.submit import database_ready
from sluice.producers.warc_records import (
    End,
    NotAnArchive,
    OpenAt,
    Record,
    archive_layout,
    read_records,
)
from sluice.shared.db.engine import insert_for, read_scope, session_scope
from sluice.shared.db.schema import ingestions
from sluice.shared.errors import PermanentError, SluiceError
from sluice.shared.jobs import ItemSpec, JobOptions, create_job, new_job_id
from sluice.shared.pages import article_for_page, save_pages
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State

__all__ = [
    "IngestCallback",
    "IngestProgress",
    "ingest_warcs",
    "is_remote",
    "resume_ingestions",
    "unfinished_sources",
]

_BATCH_BYTES = 32 * 1024 * 1024  # page bytes held before a batch is flushed
_REPORT_EVERY = 0.5  # seconds between progress reports while reading


@dataclass(slots=True)
class IngestProgress:
    """Where the ingestion of one archive stands; ``size`` is ``None`` when unknown."""

    job_id: str
    source: str
    position: int = 0
    size: int | None = None
    records: int = 0
    items: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    done: bool = False
    bytes_skipped: int = 0


IngestCallback = Callable[[IngestProgress], None]


def is_remote(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _source_key(source: str) -> str:
    return source if is_remote(source) else str(Path(source).resolve())


def _local(path: str) -> tuple[OpenAt, int]:
    def open_at(offset: int) -> BinaryIO:
        handle = open(path, "rb")  # noqa: SIM115 - the reader closes it
        handle.seek(offset)
        return handle

    return open_at, Path(path).stat().st_size


@dataclass(slots=True)
class _Batch:
    records: list[Record] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    page_bytes: int = 0
    seen: int = 0
    bytes_skipped: int = 0


def _spec(record: Record, page_id: str | None, skip: str | None) -> ItemSpec:
    if record.failure is not None:
        return ItemSpec(
            "warc", record.url, state=State.FAILED, reason=record.failure, detail=record.detail
        )
    if skip is not None:
        return ItemSpec("warc", record.url, state=State.SKIPPED, reason=skip)
    return ItemSpec("warc", record.url, page_id=page_id)


class _Ingestion:
    """One archive of one job, read from its kept offset on."""

    def __init__(
        self,
        job_id: str,
        source: str,
        record_filter: RecordFilter | None,
        progress: IngestCallback | None,
        enqueue_progress: ProgressCallback | None,
    ) -> None:
        self.job_id = job_id
        self.source = source
        self.key = _source_key(source)
        self.filter = record_filter
        self.progress = progress
        self.enqueue_progress = enqueue_progress
        self.state = IngestProgress(job_id, self.key)
        self.languages: list[str] = []
        self._last_report = 0.0

    def _row(self) -> dict[str, object] | None:
        with read_scope() as conn:
            row = conn.execute(
                select(ingestions).where(
                    ingestions.c.job_id == self.job_id, ingestions.c.source == self.key
                )
            ).first()
        return dict(row._mapping) if row else None

    def run(self, open_at: OpenAt, size: int | None) -> None:
        settings = get_settings()
        row = self._row()
        if row is None:
            with session_scope() as conn:
                # A new job keeps the languages its records are sent with and its filter,
                # for --resume.
                kept_filter = self.filter.to_dict() if self.filter and self.filter.active else None
                options = JobOptions(tuple(self.languages), record_filter=kept_filter)
                create_job(self.job_id, [], conn=conn, options=options)
                conn.execute(
                    insert_for(conn, ingestions)
                    .values(
                        job_id=self.job_id,
                        source=self.key,
                        offset=0,
                        records=0,
                        items=0,
                        skipped={},
                        bytes_skipped=0,
                        done=False,
                    )
                    .on_conflict_do_nothing()
                )
            row = self._row()
        assert row is not None
        self.state.position = int(row["offset"])  # type: ignore[call-overload]
        self.state.records = int(row["records"])  # type: ignore[call-overload]
        self.state.items = int(row["items"])  # type: ignore[call-overload]
        self.state.skipped = dict(row["skipped"] or {})  # type: ignore[call-overload]
        self.state.bytes_skipped = int(row["bytes_skipped"] or 0)  # type: ignore[call-overload]
        self.state.size = size
        if row["done"]:
            self.state.done = True
            self._report(force=True)
            return
        try:
            layout = archive_layout(open_at)
            if layout.whole_file:  # offsets are in the inflated bytes: no size to show
                self.state.size = None
            records = read_records(
                open_at, self.state.position, max_bytes=settings.fetch_max_bytes, layout=layout
            )
            self._read(records)
        except NotAnArchive as exc:
            self._fail(Reason.NOT_WARC, f"no WARC or ARC record at its start ({exc})")
        except PermanentError as exc:  # a remote archive over its cap, a 404 on a re-read
            self._fail(exc.reason, exc.detail)

    def _read(self, records: Iterator[Record | End]) -> None:
        batch_size = get_settings().submit_batch_size
        batch = _Batch()
        for entry in records:
            if isinstance(entry, End):
                self._flush(batch, entry.offset, done=True)
                return
            if len(batch.records) >= batch_size or batch.page_bytes >= _BATCH_BYTES:
                self._flush(batch, entry.offset, done=False)
                batch = _Batch()
            batch.seen += 1
            if entry.kind == "page":
                batch.records.append(entry)
                batch.page_bytes += len(entry.body)
            else:
                batch.skipped[entry.kind] = batch.skipped.get(entry.kind, 0) + 1
                batch.bytes_skipped += entry.skipped
            self.state.position = entry.offset
            self._report()

    def _flush(self, batch: _Batch, offset: int, *, done: bool) -> None:
        """Save the batch's pages, record its items and the new offset, then send them."""
        skips = [self.filter.reason(r) if self.filter else None for r in batch.records]
        wanted = [
            r
            for r, skip in zip(batch.records, skips, strict=True)
            if skip is None and r.failure is None
        ]
        pages = [(r.body, r.url, r.content_type, r.charset) for r in wanted]
        ids = iter(save_pages(pages, fetched_at=[r.date for r in wanted]))
        specs = [
            _spec(r, None if (skip or r.failure) else next(ids), skip)
            for r, skip in zip(batch.records, skips, strict=True)
        ]
        skipped = dict(self.state.skipped)
        for kind, n in batch.skipped.items():
            skipped[kind] = skipped.get(kind, 0) + n
        with session_scope() as conn:
            first = create_job(self.job_id, specs, conn=conn, state=State.RECORDED)
            conn.execute(
                update(ingestions)
                .where(ingestions.c.job_id == self.job_id, ingestions.c.source == self.key)
                .values(
                    offset=offset,
                    records=self.state.records + batch.seen,
                    items=self.state.items + len(specs),
                    skipped=skipped,
                    bytes_skipped=self.state.bytes_skipped + batch.bytes_skipped,
                    done=done,
                )
            )
        self.state.records += batch.seen
        self.state.items += len(specs)
        self.state.skipped = skipped
        self.state.bytes_skipped += batch.bytes_skipped
        self.state.position = offset
        self.state.done = done
        send = [
            article_for_page(self.job_id, first + n, spec.source, spec.page_id, self.languages)
            for n, spec in enumerate(specs)
            if spec.page_id is not None
        ]
        enqueue_articles(self.job_id, "extract", send, len(send), self.enqueue_progress)
        self._report(force=True)

    def _fail(self, reason: Reason, detail: str) -> None:
        """The source itself cannot be read on: one failed item says so, and it is done."""
        with session_scope() as conn:
            spec = ItemSpec("warc", self.source, state=State.FAILED, reason=reason, detail=detail)
            create_job(self.job_id, [spec], conn=conn)
            conn.execute(
                update(ingestions)
                .where(ingestions.c.job_id == self.job_id, ingestions.c.source == self.key)
                .values(done=True, items=self.state.items + 1)
            )
        self.state.items += 1
        self.state.done = True
        self._report(force=True)

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is not None and (force or now - self._last_report >= _REPORT_EVERY):
            self._last_report = now
            self.progress(self.state)


def _ingest_one(
    job_id: str,
    source: str,
    record_filter: RecordFilter | None,
    progress: IngestCallback | None,
    enqueue_progress: ProgressCallback | None,
    languages: Sequence[str] = (),
) -> None:
    ingestion = _Ingestion(job_id, source, record_filter, progress, enqueue_progress)
    ingestion.languages = list(languages)
    if not is_remote(source):
        try:
            open_at, size = _local(source)
        except OSError as exc:
            _record_unreadable(ingestion, f"cannot read {source}: {exc.strerror or exc}")
            return
        ingestion.run(open_at, size)
        return
    from sluice.producers.turn_fetcher import TurnFetcher
    from sluice.producers.warc_remote import RemoteArchive
    from sluice.workers.fetching.client import Fetcher

    settings = get_settings()
    fetcher = TurnFetcher(Fetcher(settings), get_redis(), settings)
    try:
        remote = RemoteArchive(fetcher, source, settings.warc_max_bytes)
        try:
            with contextlib.closing(remote.open_at(0)) as first:
                first.read(1)
        except SluiceError as exc:
            _record_unreadable(ingestion, str(exc), reason=exc.reason)
            return
        ingestion.run(remote.open_at, remote.size)
    finally:
        fetcher.close()


def _record_unreadable(ingestion: _Ingestion, detail: str, reason: Reason | None = None) -> None:
    """A source that cannot be opened: recorded as one failed item of the job."""
    spec = ItemSpec(
        "warc",
        ingestion.source,
        state=State.FAILED,
        reason=reason or Reason.UNREADABLE_FILE,
        detail=detail,
    )
    create_job(ingestion.job_id, [spec])
    ingestion.state.items += 1
    ingestion.state.done = True
    ingestion._report(force=True)


def ingest_warcs(
    sources: Sequence[str],
    *,
    job_id: str | None = None,
    record_filter: RecordFilter | None = None,
    progress: IngestCallback | None = None,
    enqueue_progress: ProgressCallback | None = None,
    hold_lease: bool = True,
    languages: Sequence[str] = (),
) -> str:
    """Read each archive (path or URL) into ``job_id`` (a new job by default); returns it.

    An archive this job already read in part is read on from its kept offset; one it read
    to the end is not read again.
    """
    database_ready()
    job_id = job_id or new_job_id()
    lease = submission_lease(get_redis(), job_id) if hold_lease else contextlib.nullcontext()
    with lease:
        for source in sources:
            _ingest_one(job_id, source, record_filter, progress, enqueue_progress, languages)
    return job_id


def unfinished_sources(job_id: str) -> list[str]:
    """The archives of ``job_id`` an interrupted ingestion did not read to the end."""
    with read_scope() as conn:
        return list(
            conn.execute(
                select(ingestions.c.source)
                .where(ingestions.c.job_id == job_id, ingestions.c.done.is_(False))
                .order_by(ingestions.c.source)
            ).scalars()
        )


def resume_ingestions(
    job_id: str,
    *,
    progress: IngestCallback | None = None,
    enqueue_progress: ProgressCallback | None = None,
    languages: Sequence[str] = (),
    record_filter: RecordFilter | None = None,
) -> int:
    """Read on every archive of ``job_id`` left unfinished (under the caller's lease),
    sending its records with ``languages`` and leaving out what ``record_filter`` does (the
    job's, :func:`shared.jobs.job_options`)."""
    sources = unfinished_sources(job_id)
    if sources:
        ingest_warcs(
            sources,
            job_id=job_id,
            record_filter=record_filter if record_filter and record_filter.active else None,
            progress=progress,
            enqueue_progress=enqueue_progress,
            hold_lease=False,
            languages=languages,
        )
    return len(sources)
