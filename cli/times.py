"""Moments as people read them: local date and time, and how far away ("in 4 min")."""

from __future__ import annotations

import time

__all__ = ["local_time", "moment", "relative", "span"]


def local_time(epoch: float) -> str:
    """``epoch`` (seconds) as a local date and time to the second, with its zone."""
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch)).rstrip()


def span(seconds: float) -> str:
    """A length of time as people say it: "45 s", "15 min", "2.5 h", "3.0 days"."""
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def relative(epoch: float, now: float) -> str:
    """How far ``epoch`` is from ``now``: "in 4 min", "20 s ago", "now"."""
    delta = epoch - now
    if abs(delta) < 1:
        return "now"
    return f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago"


def moment(epoch: float | None, now: float) -> str:
    """Local date and time with the relative distance: "2026-12-06 22:13:05 UTC (in 4 min)";
    "-" for no moment."""
    if epoch is None:
        return "-"
    return f"{local_time(epoch)} ({relative(epoch, now)})"
