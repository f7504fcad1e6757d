"""The progress of ``sluice submit --warc``: bytes and records read, per archive."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from sluice.cli.output import err_console
from sluice.producers.warc import IngestProgress

__all__ = ["IngestDisplay", "describe_ingest"]


def describe_ingest(p: IngestProgress) -> str:
    """``records 12,000 items 9,800 skipped request=1,100 not_html=40``."""
    skipped = " ".join(f"{kind}={n:,}" for kind, n in sorted(p.skipped.items()))
    return f"records {p.records:,} items {p.items:,}" + (f" skipped {skipped}" if skipped else "")


class IngestDisplay:
    """A bar per archive: bytes read out of its size, and records, items and skips so far."""

    def __init__(self, show: bool = True) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.fields[name]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=err_console,
            disable=not show,
        )
        self.last: dict[str, IngestProgress] = {}
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> IngestDisplay:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def __call__(self, p: IngestProgress) -> None:
        if p.source not in self._tasks:
            name = p.source.rsplit("/", 1)[-1][-40:]
            self._tasks[p.source] = self.progress.add_task("warc", name=name, status="")
        self.last[p.source] = IngestProgress(
            p.job_id, p.source, p.position, p.size, p.records, p.items, dict(p.skipped), p.done
        )
        completed = p.size if p.done and p.size else p.position
        self.progress.update(
            self._tasks[p.source], total=p.size, completed=completed, status=describe_ingest(p)
        )
