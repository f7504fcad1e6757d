"""The progress of ``sluice submit --warc``: bytes and records read, per archive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sluice.cli.output import ProgressDisplay

if TYPE_CHECKING:
    from sluice.producers.warc import IngestProgress

__all__ = ["IngestDisplay", "describe_ingest"]


def describe_ingest(p: IngestProgress) -> str:
    """``records 12,000 items 9,800 skipped request=1,100 not_html=40``."""
    skipped = " ".join(f"{kind}={n:,}" for kind, n in sorted(p.skipped.items()))
    text = f"records {p.records:,} items {p.items:,}" + (f" skipped {skipped}" if skipped else "")
    return text + (f" bytes_skipped={p.bytes_skipped:,}" if p.bytes_skipped else "")


class IngestDisplay(ProgressDisplay):
    """A bar per archive: bytes read out of its size, and records, items and skips so far."""

    def __init__(self, show: bool = True) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            TextColumn,
            TimeElapsedColumn,
            TransferSpeedColumn,
        )

        super().__init__(
            TextColumn("[bold]{task.fields[name]}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            show=show,
        )
        self.last: dict[str, IngestProgress] = {}
        self._tasks: dict[str, Any] = {}

    def __call__(self, p: IngestProgress) -> None:
        from sluice.producers.warc import IngestProgress

        if p.source not in self._tasks:
            name = p.source.rsplit("/", 1)[-1][-40:]
            self._tasks[p.source] = self.progress.add_task("warc", name=name, status="")
        self.last[p.source] = IngestProgress(
            p.job_id,
            p.source,
            p.position,
            p.size,
            p.records,
            p.items,
            dict(p.skipped),
            p.done,
            p.bytes_skipped,
        )
        completed = p.size if p.done and p.size else p.position
        self.progress.update(
            self._tasks[p.source], total=p.size, completed=completed, status=describe_ingest(p)
        )
