"""The publication date: ISO 8601, with the time and offset when the page gives them.

Candidates are the page's own statements (JSON-LD ``datePublished``, ``article:published_time``
and its kin, ``itemprop="datePublished"``, ``<time pubdate>``, ``<time datetime>``), the days
written in the visible text around the headline (what the reader sees, in words or in
figures, less those it labels as updates) and the extractor's guess (htmldate, which also
reads URLs and text); :func:`publication_date` says which wins. The time and offset come
from the first statement of the chosen day that has them: ``2025-09-04T10:00:00Z`` is kept
as ``2025-09-04T10:00:00+00:00``; a day with no statement stays ``2025-09-04``. The first ten
characters are always the calendar day the page gives, whatever the offset.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from sluice.workers.metadata.months import MONTH_PATTERN, month_number

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
# A published and a modified moment this close are one save of the page, not two events.
_SAVE_STAMP = timedelta(minutes=1)
_BYLINE_ABOVE = 100  # characters above the headline where a byline's day may be
# A day as people write it: "March 4, 2026", "4 March 2026", "4th of March, 2026", "4. März
# 2026", "4 de marzo de 2026", "2026-03-04", and in figures: "04.03.2026", "03/04/2026" (either
# way round: see :func:`_readings`).
WRITTEN_DAY = re.compile(
    rf"\b(?P<month_first>{MONTH_PATTERN})\.?\s+(?P<day_after>\d{{1,2}})(?:st|nd|rd|th)?,?"
    r"\s+(?P<year_after>\d{4})\b"
    r"|\b(?P<day>\d{1,2})(?:st|nd|rd|th|er|º|°|\.)?\s+(?:of\s+|de\s+)?"
    rf"(?P<month>{MONTH_PATTERN})\.?,?\s+(?:de\s+)?(?P<year>\d{{4}})\b"
    r"|\b(?P<iso_year>\d{4})-(?P<iso_month>\d{2})-(?P<iso_day>\d{2})\b"
    r"|(?<![\d.])(?P<dotted>\d{1,2})\.(?P<dotted_2>\d{1,2})\.(?P<dotted_year>\d{4})(?!\.?\d)"
    r"|(?<![\d/])(?P<slashed>\d{1,2})/(?P<slashed_2>\d{1,2})/(?P<slashed_year>\d{4})(?![\d/])",
    re.I,
)

# Words just before a written day that make it the day of an update, not of publication
# ("Updated March 4, 2026", "Last modified: 4 March 2026"), or that make it the publication's
# again ("Originally published March 2, 2026"); the nearest one decides.
# English, French, German, Spanish, Italian, Portuguese, Dutch.
_LABEL = re.compile(
    r"\b(?:(updated|modified|revised|reviewed|refreshed|edited|mise? à jour|modifiée?"
    r"|aktualisiert|geändert|actualizad[oa]|aggiornat[oa]|atualizad[oa]|bijgewerkt)"
    r"|(published|posted|created|written|released|publiée?|veröffentlicht|publicad[oa]"
    r"|pubblicat[oa]|gepubliceerd))\b",
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


def written_dates(text: str, certain_only: bool = True) -> list[str]:
    """The days written out in ``text`` (``YYYY-MM-DD``), in order; with ``certain_only``
    false, both readings of a day in figures that could be either (``03/04/2026``)."""
    return [day for day, _, certain, _ in _written(text) if certain or not certain_only]


def day_labels(text: str) -> dict[str, str]:
    """``"published"`` or ``"updated"`` for each day written in ``text`` under such a label
    (``"Updated March 4, 2026"``, ``"Originally published 2 March 2026"``); a day labelled
    both ways is published."""
    labels: dict[str, str] = {}
    for day, before, _, _ in _written(text):
        found = list(_LABEL.finditer(before))
        if found:
            label = "updated" if found[-1][1] else "published"
            if labels.get(day) != "published":
                labels[day] = label
    return labels


def _readings(match: re.Match[str]) -> list[tuple[int, int, int]]:
    """(year, month, day) of a written day; two for figures that read either way round
    (``03/04/2026``: March 4 in the United States, 3 April elsewhere)."""
    found = match.groupdict()
    if found["month_first"]:
        month = month_number(found["month_first"])
        return [(int(found["year_after"]), month, int(found["day_after"]))]
    if found["month"]:
        return [(int(found["year"]), month_number(found["month"]), int(found["day"]))]
    if found["iso_year"]:
        return [(int(found["iso_year"]), int(found["iso_month"]), int(found["iso_day"]))]
    kind = "dotted" if found["dotted"] else "slashed"
    first, second = int(found[kind]), int(found[f"{kind}_2"])
    year = int(found[f"{kind}_year"])
    if first > 12 or first == second:
        return [(year, second, first)]
    if second > 12:
        return [(year, first, second)]
    return [(year, first, second), (year, second, first)]


def _written(text: str) -> list[tuple[str, str, bool, int]]:
    """Each day written in ``text``, with the text just before it (since the day before),
    whether it reads only one way, and where it starts."""
    days = []
    previous_end = 0
    for match in WRITTEN_DAY.finditer(text):
        before = text[max(previous_end, match.start() - _LABEL_REACH) : match.start()]
        previous_end = match.end()
        readings = _readings(match)
        for year, month, day in readings:
            try:
                day_iso = date(year, month, day).isoformat()
                days.append((day_iso, before, len(readings) == 1, match.start()))
            except ValueError:
                continue
    return days


def _only_modified(stated: list[str], modified: Iterable[str | None], now: datetime | None) -> bool:
    """Every statement is also one of the page's modified moments, give or take
    :data:`_SAVE_STAMP`: the page stamped one save on both, which says nothing of when it
    was published."""
    moments = [d for d in (iso_date(v, now) for v in modified) if d]
    return bool(stated) and all(any(_same_save(s, m) for m in moments) for s in stated)


def _same_save(a: str, b: str) -> bool:
    if a == b:
        return True
    if "T" not in a or "T" not in b:
        return False
    first, second = datetime.fromisoformat(a), datetime.fromisoformat(b)
    if (first.tzinfo is None) != (second.tzinfo is None):
        return False
    return abs(first - second) <= _SAVE_STAMP


def _below_headline_first(
    days: list[tuple[str, str, bool, int]], headline_at: int
) -> list[tuple[str, str, bool, int]]:
    """``days`` with those written above the headline moved after the rest: a byline is
    below the headline, or right above it (one day, within :data:`_BYLINE_ABOVE` characters);
    further up, or several, they are the masthead's today or a sidebar's latest stories."""
    above = [day for day in days if day[3] < headline_at]
    if len(above) == 1 and headline_at - above[0][3] <= _BYLINE_ABOVE:
        return days
    return [day for day in days if day[3] >= headline_at] + above


def publication_date(
    statements: Iterable[str | None],
    guess: str | None,
    visible_text: str = "",
    modified: Iterable[str | None] = (),
    now: datetime | None = None,
    headline_at: int = 0,
    marked: Iterable[str | None] = (),
) -> str | None:
    """The publication date from the page's date ``statements`` (in order of trust), its
    ``modified`` dates, the extractor's ``guess`` and the ``visible_text`` around the
    headline (which starts at ``headline_at``), read in the order of
    :func:`_below_headline_first`.

    A day the page ``marked`` as its publication (``<time pubdate>``) is taken first.

    A day written under an update label (``"Last updated March 4, 2026"``) is the day of an
    update, not of publication: it is taken only when the page gives no other day. Of the
    rest, in this order: the first day written in ``visible_text`` that a statement confirms
    (a day in figures that reads either way round counts only so); the guess, when a
    statement confirms it; the first day written that a modified date confirms (the page
    shows it as its date), or the guess so confirmed; the first day written; the first
    statement; the guess (the extractor's own reading, which may swap day and month, loses
    to what the page states). A guess that is only the page's
    modified or updated date, while the page gives another, is no candidate. Of two days
    written that statements confirm, the one that is not the modified date comes first
    ("May 21, 2025 April 24, 2025" under a modified May 21); when every statement is only
    the modified moment (the last save), the first day written comes before the guess.
    """
    stated = [d for d in (iso_date(v, now) for v in statements) if d]
    stated_days = [d[:10] for d in stated]
    modified = list(modified)
    modified_days = {d[:10] for d in (iso_date(v, now) for v in modified) if d}
    labels = day_labels(visible_text)
    updates = {d for d, label in labels.items() if label == "updated"}
    found = _below_headline_first(_written(visible_text), headline_at)
    shown = [day for day, _, certain, _ in found if certain]
    written = [d for d in shown if d not in updates]
    readable = [day for day, *_ in found if day not in updates]
    guessed = iso_date(guess, now)
    guessed_day = guessed[:10] if guessed else None
    if (stated or written) and guessed_day in (modified_days | updates) - set(stated_days):
        guessed_day = None  # htmldate took the update for the publication
    marked_days = [d for d in (iso_date(v, now) for v in marked) if d]
    day = (
        (marked_days[0][:10] if marked_days else None)
        or next((d for d in readable if d in stated_days and d not in modified_days), None)
        or next((d for d in readable if d in stated_days), None)
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
    of_day = [d for d in (*marked_days, *stated) if d.startswith(day)]
    exact = next((d for d in of_day if "T" in d), of_day[0] if of_day else None)
    return exact or (guessed if guessed and guessed_day == day else day)
