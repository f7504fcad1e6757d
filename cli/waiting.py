"""Progress displays: messages going out under backpressure, and a job running to its end."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sluice.cli.output import ProgressDisplay

if TYPE_CHECKING:
    from sluice.producers.enqueue import EnqueueProgress

__all__ = ["EnqueueDisplay", "describe_enqueue", "describe_pending", "wait_for_job"]


def _summary(counts: dict[str, Any]) -> str:
    return " ".join(f"{state}={n}" for state, n in sorted(counts["states"].items()))


def describe_pending(counts: dict[str, Any]) -> str:
    """What a job still waits for, from :func:`shared.jobs.job_counts`:
    ``7 of 10 items final; still pending: queued=2 fetched=1``."""
    from sluice.shared.states import FINAL_STATES

    waiting = [
        f"{state}={n:,}"
        for state, n in sorted(counts["states"].items())
        if n and state not in FINAL_STATES
    ]
    if counts["missing"]:
        waiting.append(f"not yet recorded={counts['missing']:,}")
    done = f"{counts['final']:,} of {counts['submitted']:,} items final"
    return f"{done}; still pending: {' '.join(waiting) or 'none'}"


def describe_enqueue(p: EnqueueProgress) -> str:
    """One line on where a submission stands, e.g. why it is paused."""
    if not p.paused:
        return "done" if p.enqueued >= p.recorded else "sending"
    if p.depth >= p.high_water:
        return (
            f"paused: {p.paused_on} queue at {p.depth:,} ≥ high-water {p.high_water:,} "
            f"(resumes at ≤ {p.low_water:,})"
        )
    return f"paused: {p.paused_on} queue at {p.depth:,}, resumes at ≤ {p.low_water:,}"


class EnqueueDisplay(ProgressDisplay):
    """A bar of items enqueued out of those recorded, to pass as a producer's ``progress``.

    It also counts the pauses, and how long the producer spent paused, for a closing line.
    ``on_start`` is called with the first report of each job and stage: the items are
    recorded by then and nothing is sent yet.
    """

    def __init__(
        self, show: bool = True, on_start: Callable[[EnqueueProgress], None] | None = None
    ) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

        super().__init__(
            TextColumn("[bold]{task.fields[job]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("enqueued"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            show=show,
        )
        self.pauses = 0
        self.paused_seconds = 0.0
        self.last: EnqueueProgress | None = None
        self._paused_since: float | None = None
        self._tasks: dict[tuple[str, str], Any] = {}
        self._on_start = on_start

    def close(self) -> None:
        self._resume()

    def __call__(self, p: EnqueueProgress) -> None:
        key = (p.job_id, p.stage)
        if key not in self._tasks:
            if self._on_start is not None:
                self._on_start(p)
            self._tasks[key] = self.progress.add_task(
                "enqueue", total=p.recorded, job=f"job {p.job_id} → {p.stage}", status=""
            )
        if p.paused and self._paused_since is None:
            self.pauses += 1
            self._paused_since = time.monotonic()
        elif not p.paused:
            self._resume()
        self.last = p
        self.progress.update(
            self._tasks[key], total=p.recorded, completed=p.enqueued, status=describe_enqueue(p)
        )

    def _resume(self) -> None:
        if self._paused_since is not None:
            self.paused_seconds += time.monotonic() - self._paused_since
            self._paused_since = None


def wait_for_job(
    job_id: str, timeout: float | None = None, show_progress: bool = True, poll: float = 0.5
) -> tuple[dict[str, Any], bool]:
    """Poll until every item of ``job_id`` is final; returns (counts, finished in time)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from sluice.cli.output import err_console
    from sluice.shared.jobs import job_counts

    deadline = None if timeout is None else time.monotonic() + timeout
    progress = Progress(
        TextColumn("[bold]job {task.fields[job]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[states]}"),
        console=err_console,
        disable=not show_progress,
        transient=False,
    )
    with progress:
        task = progress.add_task("wait", total=None, job=job_id, states="")
        while True:
            counts = job_counts(job_id)
            progress.update(
                task,
                total=counts["submitted"],
                completed=counts["final"],
                states=_summary(counts),
            )
            if counts["final"] >= counts["submitted"]:
                return counts, True
            if deadline is not None and time.monotonic() > deadline:
                return counts, False
            time.sleep(poll)
