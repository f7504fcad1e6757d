"""Dates on the command line, checked as the arguments are read: a date that does not parse
(``2025-13-45``, ``yesterday``) is a usage error (exit 2), never a filter that keeps nothing."""

from __future__ import annotations

import argparse
import re
from datetime import date, datetime

__all__ = ["day", "moment"]

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def day(value: str) -> str:
    """An argparse type for ``YYYY-MM-DD``: the day itself, once checked to exist."""
    try:
        if not _DAY.fullmatch(value.strip()):
            raise ValueError
        return date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {value!r}") from None


def moment(value: str) -> str:
    """An argparse type for a day or an ISO 8601 time (``2026-11-30``,
    ``2026-11-30T08:00:00Z``): the value as given, once checked to parse."""
    try:
        datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        message = f"not a date (YYYY-MM-DD or ISO 8601 time): {value!r}"
        raise argparse.ArgumentTypeError(message) from None
    return value
