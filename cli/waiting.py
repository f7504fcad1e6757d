"""Waiting for a job to finish, with a progress bar."""

from __future__ import annotations

import time
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.output import err_console
from shared.jobs import job_counts

__all__ = ["wait_for_job"]


def _summary(counts: dict[str, Any]) -> str:
    return " ".join(f"{state}={n}" for state, n in sorted(counts["states"].items()))


def wait_for_job(
    job_id: str, timeout: float | None = None, show_progress: bool = True, poll: float = 0.5
) -> tuple[dict[str, Any], bool]:
    """Poll until every item of ``job_id`` is final; returns (counts, finished in time)."""
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
