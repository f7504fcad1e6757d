"""The one door for submissions, used by ``sluice submit`` and by Python callers alike.

A submission goes through it in two steps. :func:`take_in` reads what it is given: feeds
and sitemaps are expanded into their page URLs (fetched politely, behind robots.txt and the
host budget), and the filters at the door (:class:`Door`) sort the items into kept and left
out. Nothing is recorded yet, so a caller can show what could not be read before a job
exists. :func:`send` then records the job: items left out ``skipped`` with their filter's
reason, the others sent under backpressure (at most ``timeout`` seconds of waiting for
room), and every source that could not be read ``failed`` with its reason.
:func:`submit_sources` does both in one call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sluice.producers.enqueue import ProgressCallback
from sluice.producers.expansion import Expansion, Problem, expand_sources
from sluice.producers.filters import RecordFilter
from sluice.producers.submit import database_ready, submit_html, submit_text, submit_urls
from sluice.producers.turn_fetcher import TurnFetcher
from sluice.producers.warc import IngestCallback, ingest_warcs
from sluice.shared.errors import PermanentError
from sluice.shared.jobs import ItemSpec, JobOptions, create_job, finish_item, new_job_id
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.backpressure import room_deadline
from sluice.workers.fetching.client import Fetcher, Getter

__all__ = [
    "Door",
    "Intake",
    "LeftOut",
    "Sources",
    "Submission",
    "expand",
    "expand_feed",
    "record_failed_sources",
    "record_skipped",
    "send",
    "submit_sources",
    "take_in",
]

#: An item a filter left out: its source (URL, or a text's URL or title) and the reason.
LeftOut = tuple[str | None, Reason]


@dataclass(frozen=True, slots=True)
class Door:
    """The filters at the door: URLs and dates (:class:`RecordFilter`), and the languages
    to keep (ISO 639-1 codes; a page's language is checked by extract, a text's here)."""

    record_filter: RecordFilter = field(default_factory=RecordFilter)
    languages: tuple[str, ...] = ()

    @classmethod
    def from_options(
        cls,
        domains: Iterable[str] = (),
        url_pattern: str | None = None,
        since: str | None = None,
        until: str | None = None,
        languages: Iterable[str] = (),
    ) -> Door:
        """The door for these filters; ``languages`` may be comma-separated. Dates are
        ``YYYY-MM-DD`` or ISO 8601. Raises ``ValueError`` on a bad date or pattern."""
        try:
            record_filter = RecordFilter.from_options(list(domains), url_pattern, since, until)
        except re.error as exc:
            raise ValueError(str(exc)) from exc
        codes = {code.strip().lower() for value in languages for code in value.split(",")}
        return cls(record_filter, tuple(sorted(code for code in codes if code)))

    def sort_urls(self, urls: Iterable[str]) -> tuple[list[str], list[LeftOut]]:
        """The URLs the door keeps, and those it leaves out with their reason. A feed
        entry's link carries the entry's date, which ``since`` and ``until`` read."""
        kept: list[str] = []
        left_out: list[LeftOut] = []
        door = self.record_filter
        for url in urls:
            reason = None
            if door.active:
                reason = door.url_reason(url) or door.date_reason(getattr(url, "date", None))
            if reason is None:
                kept.append(url)
            else:
                left_out.append((str(url), reason))
        return kept, left_out

    def keeps_text(self, text: str) -> bool:
        """Whether a raw text's detected language is one the door keeps."""
        if not self.languages:
            return True
        from sluice.shared.language import detect_language  # loads py3langid: only when asked

        return detect_language(text) in self.languages


@dataclass(frozen=True, slots=True)
class Sources:
    """What a submission is given: any mix of page URLs, feeds, sitemaps, archives (paths or
    URLs), one raw text and one page's HTML (``title`` and ``url`` describe those two)."""

    urls: Sequence[str] = ()
    feeds: Sequence[str] = ()
    sitemaps: Sequence[str] = ()
    warcs: Sequence[str] = ()
    text: str | None = None
    html: bytes | str | None = None
    title: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Intake:
    """A submission read and sorted by the door, not recorded yet."""

    sources: Sources
    door: Door
    urls: list[str]  # kept: the given URLs, then those the feeds and sitemaps listed
    left_out: list[LeftOut]
    problems: list[Problem]  # sources that could not be read in full
    text: str | None  # the raw text, unless the door left it out

    @property
    def has_items(self) -> bool:
        """Whether anything besides failed sources would be recorded."""
        given = self.sources
        return bool(
            self.urls
            or self.left_out
            or given.warcs
            or self.text is not None
            or given.html is not None
        )

    @property
    def empty(self) -> bool:
        """Whether there is nothing at all to record: no item and no failed source."""
        return not (self.has_items or self.problems)


@dataclass(frozen=True, slots=True)
class Submission:
    """A submission's job, its sources that could not be read, and how many items the door
    left out (recorded ``skipped``)."""

    job_id: str
    problems: list[Problem]
    skipped: int


def expand(
    feeds: Sequence[str] = (), sitemaps: Sequence[str] = (), *, fetcher: Getter | None = None
) -> Expansion:
    """The page URLs the feeds and sitemaps list, and a problem for each one that failed.

    They are fetched politely (robots.txt, the host budget) unless ``fetcher`` is given.
    """
    settings = get_settings()
    if fetcher is not None:
        return expand_sources(list(feeds), list(sitemaps), fetcher, settings)
    polite = TurnFetcher(Fetcher(settings), get_redis(), settings)
    try:
        return expand_sources(list(feeds), list(sitemaps), polite, settings)
    finally:
        polite.close()


def expand_feed(url: str, fetcher: Getter | None = None) -> list[str]:
    """A feed's entry links, in feed order (each carries its entry's date as ``.date``).

    Raises :class:`~shared.errors.PermanentError` with its reason when the feed cannot be read.
    """
    found = expand([url], fetcher=fetcher)
    if found.problems and not found.urls:
        raise PermanentError(found.problems[0].reason, found.problems[0].detail)
    return found.urls


def take_in(sources: Sources, door: Door | None = None, *, fetcher: Getter | None = None) -> Intake:
    """Expand the feeds and sitemaps of ``sources`` and sort every item through ``door``;
    records nothing."""
    door = door or Door()
    urls = list(sources.urls)
    problems: list[Problem] = []
    if sources.feeds or sources.sitemaps:
        expansion = expand(sources.feeds, sources.sitemaps, fetcher=fetcher)
        urls.extend(expansion.urls)
        problems = expansion.problems
    kept, left_out = door.sort_urls(urls)
    text = sources.text
    if text is not None and not door.keeps_text(text):
        left_out.append((sources.url or sources.title, Reason.FILTERED_LANGUAGE))
        text = None
    return Intake(sources, door, kept, left_out, problems, text)


def send(
    intake: Intake,
    job_id: str | None = None,
    *,
    refetch: bool = False,
    timeout: float | None = None,
    progress: ProgressCallback | None = None,
    ingest_progress: IngestCallback | None = None,
) -> Submission:
    """Record ``intake`` as items of ``job_id`` (a new job by default) and send them.

    ``refetch`` fetches again URLs sluice has seen before; ``timeout`` bounds the waiting
    for room in the queues (:class:`~workers.backpressure.RoomTimeout` past it, what is
    not sent yet left ``recorded`` for ``resume_job``); ``progress`` and
    ``ingest_progress`` are told how sending and reading archives go. A new job keeps the
    door's languages and ``refetch`` (:class:`~shared.jobs.JobOptions`) for the items that
    are sent later from the store.
    """
    job_id = job_id or new_job_id()
    given, languages = intake.sources, intake.door.languages
    if intake.has_items:
        database_ready()
        # Kept with a new job (a job added to keeps its own) for the items sent later.
        record_filter = intake.door.record_filter
        kept_filter = record_filter.to_dict() if record_filter.active else None
        create_job(job_id, [], options=JobOptions(languages, refetch, kept_filter))
        with room_deadline(timeout):
            record_skipped(job_id, "url", intake.left_out)
            if given.warcs:
                ingest_warcs(
                    given.warcs,
                    job_id=job_id,
                    record_filter=record_filter if record_filter.active else None,
                    progress=ingest_progress,
                    enqueue_progress=progress,
                    languages=languages,
                )
            if intake.urls:
                submit_urls(
                    intake.urls,
                    job_id=job_id,
                    refetch=refetch,
                    progress=progress,
                    languages=languages,
                )
            if intake.text is not None:
                submit_text(intake.text, title=given.title, url=given.url, job_id=job_id)
            if given.html is not None:
                submit_html(given.html, url=given.url, job_id=job_id, languages=languages)
    record_failed_sources(job_id, intake.problems)
    return Submission(job_id, intake.problems, len(intake.left_out))


def submit_sources(
    urls: Sequence[str] = (),
    *,
    feeds: Sequence[str] = (),
    sitemaps: Sequence[str] = (),
    warcs: Sequence[str] = (),
    text: str | None = None,
    html: bytes | str | None = None,
    title: str | None = None,
    url: str | None = None,
    door: Door | None = None,
    job_id: str | None = None,
    refetch: bool = False,
    timeout: float | None = None,
    progress: ProgressCallback | None = None,
) -> Submission:
    """Submit any mix of sources in one job, as ``sluice submit`` does: :func:`take_in`,
    then :func:`send`. A source that cannot be read is recorded ``failed`` and named in the
    result's ``problems``; the others go on. Raises ``ValueError`` when given nothing."""
    sources = Sources(urls, feeds, sitemaps, warcs, text, html, title, url)
    intake = take_in(sources, door)
    if intake.empty:
        raise ValueError("nothing to submit")
    return send(intake, job_id, refetch=refetch, timeout=timeout, progress=progress)


def record_skipped(job_id: str, kind: str, left_out: Sequence[LeftOut]) -> None:
    """Record each ``(source, reason)`` a filter left out as an item ``skipped`` of the job."""
    if not left_out:
        return
    database_ready()
    create_job(
        job_id,
        [ItemSpec(kind, source, state=State.SKIPPED, reason=reason) for source, reason in left_out],
    )


def record_failed_sources(job_id: str, problems: Sequence[Problem]) -> None:
    """Record each source that could not be read in full as an item of the job, ``failed``
    with its reason, so ``sluice status`` shows it."""
    if not problems:
        return
    database_ready()
    specs = [ItemSpec(problem.kind, problem.source) for problem in problems]
    first = create_job(job_id, specs, state=State.RECORDED)
    for offset, problem in enumerate(problems):
        finish_item(
            job_id, first + offset, State.FAILED, reason=problem.reason, detail=problem.detail
        )
