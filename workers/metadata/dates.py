"""The publication date: ISO 8601, with the time and offset when the page gives them.

Candidates are the page's own statements (JSON-LD ``datePublished``, ``article:published_time``
and its kin, ``itemprop="datePublished"``, ``<time datetime>``), the days written in the
visible text around the headline (what the reader sees, less those it labels as updates)
and the extractor's guess (htmldate, which also reads URLs and text);
:func:`publication_date` says which wins. The time and offset come from the first statement
of the chosen day: ``2025-09-04T10:00:00Z`` is kept as ``2025-09-04T10:00:00+00:00``; a day
with no statement stays ``2025-09-04``. The first ten characters are always the calendar day
the page gives, whatever the offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "PUBLISHED_META",
    "WRITTEN_DAY",
    "day_labels",
    "iso_date",
    "publication_date",
    "written_dates",
]

# Meta tags (name, property or itemprop, lower case) that state the publication date.
PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "article:published",
    "published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date",
    "dcterms.date",
    "dcterms.created",
    "date",
)
_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_EARLIEST = date(1995, 1, 1)
_MAX_WRITTEN_VALUE = 40  # characters of a date statement read as written words
_SLACK = timedelta(days=1)  # time zones: "today" somewhere may be tomorrow here
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
# A day as people write it: "March 4, 2026", "4 March 2026", "4th of March, 2026", "2026-03-04".
WRITTEN_DAY = re.compile(
    rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
    rf"|\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(\d{{4}})\b"
    r"|\b(\d{4})-(\d{2})-(\d{2})\b",
    re.I,
)

# Words just before a written day that make it the day of an update, not of publication
# ("Updated March 4, 2026", "Last modified: 4 March 2026"), or that make it the publication's
# again ("Originally published March 2, 2026"); the nearest one decides.
_LABEL = re.compile(
    r"\b(?:(updated|modified|revised|reviewed|refreshed|edited)"
    r"|(published|posted|created|written|released))\b",
    re.I,
)
_LABEL_REACH = 40  # characters before a day where its label may be


def _plausible(day: date, now: datetime) -> bool:
    return _EARLIEST <= day <= (now + _SLACK).date()


def iso_date(value: str | None, now: datetime | None = None) -> str | None:
    """``value`` as ISO 8601 (``YYYY-MM-DD``, or with ``THH:MM:SS`` and the offset when it
    has them; a short value written for people, ``"On 8 Oct 2022"``, gives its day), or
    ``None`` when it is no plausible date (before 1995 or in the future)."""
    text = (value or "").strip()
    if not text:
        return None
    now = now or datetime.now(UTC)
    candidate = text.replace(" ", "T", 1) if _DAY.match(text) else text
    try:
        moment = datetime.fromisoformat(candidate)
    except ValueError:
        moment = None
    if moment is not None and "T" in candidate:
        if not _plausible(moment.date(), now):
            return None
        return moment.isoformat(timespec="seconds")
    match = _DAY.match(text)
    if match is None:
        # A day as people write it ("On 8 Oct 2022"), when that is all the value holds.
        days = written_dates(text) if len(text) <= _MAX_WRITTEN_VALUE else []
        return days[0] if days and _plausible(date.fromisoformat(days[0]), now) else None
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    return day.isoformat() if _plausible(day, now) else None


def written_dates(text: str) -> list[str]:
    """The days written out in ``text`` (``YYYY-MM-DD``), in order."""
    return [day for day, _ in _written(text)]


def day_labels(text: str) -> dict[str, str]:
    """``"published"`` or ``"updated"`` for each day written in ``text`` under such a label
    (``"Updated March 4, 2026"``, ``"Originally published 2 March 2026"``); a day labelled
    both ways is published."""
    labels: dict[str, str] = {}
    for day, before in _written(text):
        found = list(_LABEL.finditer(before))
        if found:
            label = "updated" if found[-1][1] else "published"
            if labels.get(day) != "published":
                labels[day] = label
    return labels


def _written(text: str) -> list[tuple[str, str]]:
    """Each day written in ``text``, with the text just before it (since the day before)."""
    days = []
    previous_end = 0
    for match in WRITTEN_DAY.finditer(text):
        before = text[max(previous_end, match.start() - _LABEL_REACH) : match.start()]
        previous_end = match.end()
        if match[1]:
            year, month, day = match[3], _MONTHS.index(match[1][:3].lower()) + 1, match[2]
        elif match[5]:
            year, month, day = match[6], _MONTHS.index(match[5][:3].lower()) + 1, match[4]
        else:
            year, month, day = match[7], int(match[8]), match[9]
        try:
            days.append((date(int(year), month, int(day)).isoformat(), before))
        except ValueError:
            continue
    return days


def _only_modified(stated: list[str], modified: Iterable[str | None], now: datetime | None) -> bool:
    """Every statement is also the page's modified moment, to the second: the page stamped
    one time on both (its last save), which says nothing of when it was published."""
    moments = {d for d in (iso_date(v, now) for v in modified) if d}
    return bool(stated) and set(stated) <= moments


def publication_date(
    statements: Iterable[str | None],
    guess: str | None,
    visible_text: str = "",
    modified: Iterable[str | None] = (),
    now: datetime | None = None,
) -> str | None:
    """The publication date from the page's date ``statements`` (in order of trust), its
    ``modified`` dates, the extractor's ``guess`` and the ``visible_text`` around the
    headline.

    A day written under an update label (``"Last updated March 4, 2026"``) is the day of an
    update, not of publication: it is taken only when the page gives no other day. Of the
    rest, in this order: the first day written in ``visible_text`` that a statement confirms;
    the guess, when a statement confirms it; the first day written that a modified date
    confirms (the page shows it as its date), or the guess so confirmed; the first day
    written; the first statement; the guess (the extractor's own reading, which may swap day
    and month, loses to what the page states). A guess that is only the page's modified or
    updated date, while the page gives another, is no candidate. Of two days written that
    statements confirm, the one that is not the modified date comes first ("May 21, 2025
    April 24, 2025" under a modified May 21); when every statement is only the modified
    moment, the first day written comes before the guess.
    """
    stated = [d for d in (iso_date(v, now) for v in statements) if d]
    stated_days = [d[:10] for d in stated]
    modified = list(modified)
    modified_days = {d[:10] for d in (iso_date(v, now) for v in modified) if d}
    labels = day_labels(visible_text)
    updates = {d for d, label in labels.items() if label == "updated"}
    shown = written_dates(visible_text)
    written = [d for d in shown if d not in updates]
    guessed = iso_date(guess, now)
    guessed_day = guessed[:10] if guessed else None
    if (stated or written) and guessed_day in (modified_days | updates) - set(stated_days):
        guessed_day = None  # htmldate took the update for the publication
    day = (
        next((d for d in written if d in stated_days and d not in modified_days), None)
        or next((d for d in written if d in stated_days), None)
        or (written[0] if written and _only_modified(stated, modified, now) else None)
        or (guessed_day if guessed_day in stated_days else None)
        or next((d for d in written if d in modified_days), None)
        or (guessed_day if guessed_day in modified_days else None)
        or (written[0] if written else None)
        or (stated_days[0] if stated else None)
        or guessed_day
        or next((d for d in shown if d in updates), None)
    )
    if day is None:
        return None
    exact = next((d for d in stated if d.startswith(day)), None)
    return exact or (guessed if guessed and guessed_day == day else day)
