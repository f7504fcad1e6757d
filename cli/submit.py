"""``sluice submit``: URLs, feeds, sitemaps, raw text or raw HTML into a job."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TYPE_CHECKING, Any

from sluice.cli.dates import moment
from sluice.cli.errors import EXIT_INPUT_FILE, EXIT_SOME_SOURCES_FAILED, report
from sluice.cli.ingesting import IngestDisplay, describe_ingest
from sluice.cli.inputs import InputFileError, read_bytes, read_lines, read_text
from sluice.cli.output import clean, print_json
from sluice.cli.output import text as text_of
from sluice.cli.waiting import EnqueueDisplay, describe_pending, wait_for_job
from sluice.shared.errors import SluiceError

if TYPE_CHECKING:
    from sluice.producers.enqueue import EnqueueProgress
    from sluice.producers.expansion import Problem
    from sluice.producers.intake import Door
    from sluice.workers.backpressure import RoomTimeout

__all__ = ["add_parser", "run"]

# The crawl's defaults, repeated from workers.crawl.scope (importing it would load courlan
# for every command's start-up); tests/unit/test_crawl_cli.py checks they agree.
SCOPES = ("host", "domain", "prefix")
DEFAULT_DEPTH = 5
DEFAULT_MAX_PAGES = 100_000
DEFAULT_MAX_PER_PATTERN = 200

EXIT_FAILED_ITEMS = 1
EXIT_BAD_INPUT = 2
EXIT_TIMEOUT = 3
EXIT_NOTHING = 4
EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "submit",
        help="submit URLs, feeds, sitemaps or texts",
        description="Submit work to the pipeline. Prints the job id as soon as its items are "
        "recorded, before any is sent; with --wait, shows progress until every item is final "
        "and exits 1 if any failed. Every item is recorded first, then sent as the queues "
        "have room: sending pauses while a stage's queue is at SLUICE_QUEUE_HIGH_WATER and "
        "resumes at SLUICE_QUEUE_LOW_WATER. If interrupted, killed or out of --timeout, the "
        "items recorded but not sent stay 'recorded' until --resume.",
    )
    src = p.add_argument_group("what to submit (any mix)")
    src.add_argument("urls", nargs="*", metavar="URL", help="article URLs")
    src.add_argument(
        "--file",
        "-f",
        action="append",
        default=[],
        help="file with one URL per line ('-' for stdin)",
    )
    src.add_argument(
        "--feed",
        action="append",
        default=[],
        metavar="URL",
        help="RSS or Atom feed: its entry links are submitted",
    )
    src.add_argument(
        "--sitemap",
        action="append",
        default=[],
        metavar="URL",
        help="sitemap or sitemap index: its page URLs are submitted",
    )
    src.add_argument(
        "--warc",
        action="extend",
        nargs="+",
        default=[],
        metavar="PATH_OR_URL",
        help="WARC or ARC archives (plain or gzip): their HTML responses go to extract",
    )
    src.add_argument(
        "--crawl",
        action="extend",
        nargs="+",
        default=[],
        metavar="URL",
        help="crawl a site from these front or section pages: follow the links of every "
        "fetched page within the crawl's scope and limits (see 'site crawl' below)",
    )
    src.add_argument("--text", metavar="FILE", help="a raw text file ('-' for stdin)")
    src.add_argument("--html", metavar="FILE", help="a saved HTML page, extracted as is")
    meta = p.add_argument_group("for --text and --html")
    meta.add_argument("--title", help="title of the --text")
    meta.add_argument("--url", help="URL the --text or --html came from")
    door = p.add_argument_group("filters (left-out items end skipped, with the filter's reason)")
    door.add_argument(
        "--domain",
        action="append",
        default=[],
        metavar="HOST",
        help="keep only URLs on this host or its subdomains (repeatable)",
    )
    door.add_argument("--url-pattern", metavar="REGEX", help="keep only URLs this regex finds")
    door.add_argument(
        "--since",
        type=moment,
        metavar="DATE",
        help="keep records or feed entries dated at or after DATE (YYYY-MM-DD or ISO 8601)",
    )
    door.add_argument(
        "--until", type=moment, metavar="DATE", help="keep those dated at or before DATE"
    )
    door.add_argument(
        "--language",
        action="append",
        default=[],
        metavar="CODE",
        help="keep only articles whose language (declared by the page, else detected) is CODE "
        "(ISO 639-1; repeatable, or comma-separated)",
    )
    crawl = p.add_argument_group(
        "site crawl (--crawl): hub pages are followed and end 'followed'; articles are stored "
        "and their links followed too"
    )
    crawl.add_argument(
        "--scope",
        choices=SCOPES,
        default="host",
        help="follow links to the seeds' hosts (default), their registrable domains "
        "(subdomains too), or only URLs under the seeds' paths (prefix)",
    )
    crawl.add_argument(
        "--depth",
        type=_at_least(0),
        default=DEFAULT_DEPTH,
        help=f"links followed from a seed, at most (default {DEFAULT_DEPTH})",
    )
    crawl.add_argument(
        "--max-pages",
        type=_at_least(1),
        default=DEFAULT_MAX_PAGES,
        help=f"URLs the crawl fetches in all, at most (default {DEFAULT_MAX_PAGES:,})",
    )
    crawl.add_argument(
        "--max-per-host",
        type=_at_least(0),
        default=0,
        help="URLs the crawl fetches from any one host, at most (default: --max-pages)",
    )
    crawl.add_argument(
        "--max-per-pattern",
        type=_at_least(1),
        default=DEFAULT_MAX_PER_PATTERN,
        help="URLs of one calendar-like path or query pattern (digits ignored), at most "
        f"(default {DEFAULT_MAX_PER_PATTERN}): the trap rule for calendars and endless "
        "query strings",
    )
    crawl.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="REGEX",
        help="follow only links this regex finds (repeatable: any of them)",
    )
    crawl.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="REGEX",
        help="never follow links this regex finds (repeatable)",
    )
    opts = p.add_argument_group("options")
    opts.add_argument("--job", help="add to this job instead of starting a new one")
    opts.add_argument(
        "--resume",
        metavar="JOB",
        help="send the items an interrupted submission to JOB recorded but never enqueued "
        "(WARC records are sent and their archives read on from the kept offset; texts and "
        "pages end failed as not_enqueued)",
    )
    opts.add_argument(
        "--refetch",
        action="store_true",
        help="fetch again URLs that were seen before (not duplicates)",
    )
    opts.add_argument("--wait", action="store_true", help="wait until every item is final")
    opts.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="give up waiting after S seconds, for room in the queues as for the job (exit 3; "
        "what is not sent yet stays recorded for --resume)",
    )
    opts.add_argument("--json", action="store_true", help="print the result as JSON")
    opts.add_argument(
        "--encoding",
        metavar="NAME",
        help="encoding of --file and --text (default: byte order mark, UTF-8, else detected)",
    )
    p.set_defaults(func=run)


def _at_least(low: int) -> Any:
    def number(value: str) -> int:
        n = int(value)
        if n < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more")
        return n

    return number


def _crawl(args: argparse.Namespace) -> int:
    """``--crawl``: start a site crawl as a new job."""
    from sluice.producers import submit_crawl
    from sluice.workers.backpressure import RoomTimeout
    from sluice.workers.crawl.scope import CrawlScope

    others = (args.urls, args.file, args.feed, args.sitemap, args.warc, args.text, args.html)
    if any(others) or args.job:
        line = "--crawl starts a job of its own: give no other input and no --job"
        return report(args, EXIT_BAD_INPUT, "usage", line)
    try:
        crawl = CrawlScope(
            tuple(args.crawl),
            args.scope,
            args.depth,
            args.max_pages,
            tuple(args.include),
            tuple(args.exclude),
            args.max_per_host,
            args.max_per_pattern,
        )
    except ValueError as exc:
        return report(args, EXIT_BAD_INPUT, "usage", f"bad crawl: {clean(str(exc))}")
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    announce = _Announcement(args.json)
    display = EnqueueDisplay(show=not args.json, on_start=announce)
    languages = [c.strip().lower() for v in args.language for c in v.split(",") if c.strip()]
    try:
        with display:
            job_id = submit_crawl(crawl, progress=display, languages=languages)
    except RoomTimeout as exc:
        return report(args, EXIT_TIMEOUT, "timeout", f"no room in the queues: {exc}")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    announce.job(job_id)
    return _finish(args, job_id, {}, _remaining(deadline))


def _read_inputs(args: argparse.Namespace) -> tuple[list[str], str | None, bytes | None]:
    """The URLs of --file, the --text and the --html; raises :class:`InputFileError`."""
    urls: list[str] = []
    for path in args.file:
        urls.extend(read_lines(path, args.encoding))
    text = read_text(args.text, args.encoding) if args.text else None
    html = read_bytes(args.html) if args.html else None
    return urls, text, html


def _interrupted(job_id: str) -> int:
    """Say what an interrupted submission left behind, and how to finish it."""
    from sluice.cli.output import err_console
    from sluice.shared.jobs import job_counts, job_exists

    unsent = job_counts(job_id)["states"].get("recorded", 0) if job_exists(job_id) else 0
    if unsent:
        err_console.print(
            f"[yellow]interrupted:[/] job {job_id} has {unsent:,} items recorded but not "
            f"enqueued; send them with [bold]sluice submit --resume {job_id}[/]"
        )
    else:
        err_console.print(f"[yellow]interrupted:[/] job {job_id} has no item left unsent")
    return EXIT_INTERRUPTED


def _out_of_time(args: argparse.Namespace, job_id: str, exc: RoomTimeout) -> int:
    """Say that ``--timeout`` ran out while waiting for room, and how to finish the job."""
    from sluice.shared.jobs import job_counts, job_exists

    unsent = job_counts(job_id)["states"].get("recorded", 0) if job_exists(job_id) else 0
    line = (
        f"no room in the queues within --timeout {args.timeout:g} s ({exc}); job {job_id} "
        f"has {unsent:,} items recorded but not enqueued: send them with "
        f"sluice submit --resume {job_id}"
    )
    return report(args, EXIT_TIMEOUT, "timeout", line)


class _Announcement:
    """Prints the job id once, as soon as its items are recorded and before any is sent, so
    that a producer killed while it waits for room has told which job to ``--resume``:
    on stdout (the only line there), or as a JSON line on stderr with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self.done: set[str] = set()

    def __call__(self, p: EnqueueProgress) -> None:
        self.job(p.job_id, p.recorded)

    def job(self, job_id: str, recorded: int | None = None) -> None:
        if job_id in self.done:
            return
        self.done.add(job_id)
        if self.as_json:
            sys.stderr.write(json.dumps({"job": job_id, "recorded": recorded}) + "\n")
            sys.stderr.flush()
        else:
            print(job_id, flush=True)


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _report_pauses(display: EnqueueDisplay) -> None:
    from sluice.cli.output import err_console

    if display.pauses:
        err_console.print(
            f"paused {display.pauses:,} times ({display.paused_seconds:.1f} s in all) "
            "while a stage's queue was full"
        )


def _resume(args: argparse.Namespace) -> int:
    from sluice.cli.output import err_console
    from sluice.producers import resume_job
    from sluice.shared.jobs import job_exists
    from sluice.workers.backpressure import RoomTimeout, room_deadline

    job_id = args.resume
    inputs = (args.urls, args.file, args.feed, args.sitemap, args.warc, args.text, args.html)
    if any(inputs) or args.job:
        line = "--resume takes no other input: it sends what JOB recorded"
        return report(args, EXIT_BAD_INPUT, "usage", line)
    filters = (args.domain, args.url_pattern, args.since, args.until, args.language)
    if any(filters):
        line = (
            "--resume keeps the filters JOB was submitted with: --domain, --url-pattern, "
            "--since, --until and --language cannot change them"
        )
        return report(args, EXIT_BAD_INPUT, "usage", line)
    if not job_exists(job_id):
        return report(args, EXIT_BAD_INPUT, "no_such_job", f"no job {clean(job_id)}")
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    display = EnqueueDisplay(show=not args.json)
    ingest = IngestDisplay(show=not args.json)
    try:
        with display, ingest, room_deadline(args.timeout):
            resumed = resume_job(
                job_id, refetch=args.refetch, progress=display, ingest_progress=ingest
            )
    except SluiceError as exc:
        line = f"cannot resume: {clean(exc.detail or exc)}"
        return report(args, EXIT_BAD_INPUT, str(exc.reason), line)
    except RoomTimeout as exc:
        return _out_of_time(args, job_id, exc)
    except KeyboardInterrupt:
        return _interrupted(job_id)
    _report_pauses(display)
    if not args.json:
        err_console.print(
            f"job {job_id}: {resumed.enqueued:,} items enqueued"
            + (f", {resumed.failed:,} failed as not_enqueued" if resumed.failed else "")
            + (f", {resumed.archives} archives read on" if resumed.archives else "")
        )
        print(job_id, flush=True)
    extra = {"enqueued": resumed.enqueued, "failed": resumed.failed}
    return _finish(args, job_id, extra, _remaining(deadline))


def _door(args: argparse.Namespace) -> Door:
    """The filters of the command line; raises ``ValueError`` on a bad one."""
    from sluice.producers.intake import Door

    return Door.from_options(args.domain, args.url_pattern, args.since, args.until, args.language)


def _report_problems(problems: list[Problem]) -> None:
    from sluice.cli.output import err_console

    for problem in problems:
        line = f"{problem.kind} {problem.source}: {problem.reason}: {problem.detail}"
        err_console.print(text_of(line[:500], "yellow"), soft_wrap=True)


def run(args: argparse.Namespace) -> int:
    from sluice.cli.output import err_console
    from sluice.producers.intake import Sources, send, take_in
    from sluice.shared.jobs import new_job_id
    from sluice.workers.backpressure import RoomTimeout

    if args.resume:
        return _resume(args)
    if args.crawl:
        return _crawl(args)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    try:
        file_urls, text, html = _read_inputs(args)
    except InputFileError as exc:
        return report(args, EXIT_INPUT_FILE, str(exc.reason), clean(f"{exc.reason}: {exc}"))
    try:
        door = _door(args)
    except ValueError as exc:
        return report(args, EXIT_BAD_INPUT, "usage", f"bad filter: {clean(str(exc))}")
    sources = Sources(
        urls=[*args.urls, *file_urls],
        feeds=args.feed,
        sitemaps=args.sitemap,
        warcs=args.warc,
        text=text,
        html=html,
        title=args.title,
        url=args.url,
    )
    intake = take_in(sources, door)
    problems = intake.problems
    _report_problems(problems)
    if problems and not intake.has_items:
        job_id = send(intake, args.job).job_id  # records the failed sources only
        err_console.print(text_of(f"job {job_id}: no source could be read", "red"))
        if args.json:
            print_json({"job": job_id, "sources_failed": len(problems)})
        return EXIT_BAD_INPUT
    if intake.empty:
        line = "nothing to submit (give URLs, --file, --feed, --sitemap, --warc, --text or --html)"
        return report(args, EXIT_NOTHING, "nothing_to_submit", line)

    job_id = args.job or new_job_id()
    announce = _Announcement(args.json)
    display = EnqueueDisplay(show=not args.json, on_start=announce)
    ingest = IngestDisplay(show=not args.json)
    try:
        with display, ingest:
            send(
                intake,
                job_id,
                refetch=args.refetch,
                timeout=_remaining(deadline),
                progress=display,
                ingest_progress=ingest,
            )
    except RoomTimeout as exc:
        return _out_of_time(args, job_id, exc)
    except KeyboardInterrupt:
        return _interrupted(job_id)
    _report_pauses(display)

    extra: dict[str, Any] = {"sources_failed": len(problems)} if problems else {}
    if ingest.last:
        extra["archives"] = [
            {
                "source": p.source,
                "position": p.position,
                "records": p.records,
                "items": p.items,
                "skipped": p.skipped,
                "bytes_skipped": p.bytes_skipped,
                "done": p.done,
            }
            for p in ingest.last.values()
        ]
        if not args.json:
            for p in ingest.last.values():
                err_console.print(text_of(f"{p.source}: {describe_ingest(p)}"), soft_wrap=True)
    if not args.json:
        announce.job(job_id)
    code = _finish(args, job_id, extra, _remaining(deadline))
    if problems and code in (0, EXIT_FAILED_ITEMS):
        return EXIT_SOME_SOURCES_FAILED
    return code


def _finish(
    args: argparse.Namespace, job_id: str, extra: dict[str, Any], timeout: float | None
) -> int:
    """Print the result (or wait for the job with --wait, at most ``timeout`` seconds) and
    pick the exit code."""
    from sluice.cli.output import err_console

    if not args.wait:
        if args.json:
            print_json({"job": job_id, **extra})
        return 0
    try:
        counts, finished = wait_for_job(job_id, timeout, show_progress=not args.json)
    except KeyboardInterrupt:
        from sluice.shared.jobs import job_counts

        pending = describe_pending(job_counts(job_id))
        line = f"interrupted; job {job_id} goes on in the workers: {pending}"
        return report(args, EXIT_INTERRUPTED, "interrupted", line)
    if args.json:
        print_json({**counts, **{k: v for k, v in extra.items() if k == "archives"}})
    else:
        for reason, n in sorted(counts["reasons"].items()):
            err_console.print(f"  {reason}: {n}")
    if not finished:
        pending = describe_pending(counts)
        line = f"gave up waiting after {args.timeout:g} s: job {job_id}: {pending}"
        return report(args, EXIT_TIMEOUT, "timeout", line)
    return EXIT_FAILED_ITEMS if counts["states"].get("failed") else 0
