"""``sluice submit``: URLs, feeds, sitemaps, raw text or raw HTML into a job."""

from __future__ import annotations

import argparse
from dataclasses import astuple
from pathlib import Path

from cli.errors import EXIT_INPUT_FILE, EXIT_SOME_SOURCES_FAILED, report
from cli.inputs import InputFileError, read_lines, read_text
from cli.output import clean, err_console, print_json
from cli.output import text as text_of
from cli.waiting import EnqueueDisplay, wait_for_job
from shared.errors import SluiceError
from shared.jobs import job_counts, job_exists, new_job_id
from shared.settings import get_settings

__all__ = ["add_parser", "run"]

EXIT_FAILED_ITEMS = 1
EXIT_BAD_INPUT = 2
EXIT_TIMEOUT = 3
EXIT_NOTHING = 4
EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submit",
        help="submit URLs, feeds, sitemaps or texts",
        description="Submit work to the pipeline. Prints the job id; with --wait, shows "
        "progress until every item is final and exits 1 if any failed. Every item is "
        "recorded first, then sent as the queues have room: sending pauses while a stage's "
        "queue is at SLUICE_QUEUE_HIGH_WATER and resumes at SLUICE_QUEUE_LOW_WATER. If "
        "interrupted, the items recorded but not sent stay 'recorded' until --resume.",
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
    src.add_argument("--text", metavar="FILE", help="a raw text file ('-' for stdin)")
    src.add_argument("--html", metavar="FILE", help="a saved HTML page, extracted as is")
    meta = p.add_argument_group("for --text and --html")
    meta.add_argument("--title", help="title of the --text")
    meta.add_argument("--url", help="URL the --text or --html came from")
    opts = p.add_argument_group("options")
    opts.add_argument("--job", help="add to this job instead of starting a new one")
    opts.add_argument(
        "--resume",
        metavar="JOB",
        help="send the items an interrupted submission to JOB recorded but never enqueued "
        "(texts and pages among them end failed as not_enqueued)",
    )
    opts.add_argument(
        "--refetch",
        action="store_true",
        help="fetch again URLs that were seen before (not duplicates)",
    )
    opts.add_argument("--wait", action="store_true", help="wait until every item is final")
    opts.add_argument("--timeout", type=float, default=None, help="give up waiting after S seconds")
    opts.add_argument("--json", action="store_true", help="print the result as JSON")
    opts.add_argument(
        "--encoding",
        metavar="NAME",
        help="encoding of --file and --text (default: byte order mark, UTF-8, else detected)",
    )
    p.set_defaults(func=run)


def _read_inputs(args: argparse.Namespace) -> tuple[list[str], str | None, bytes | None]:
    """The URLs of --file, the --text and the --html; raises :class:`InputFileError`."""
    urls: list[str] = []
    for path in args.file:
        urls.extend(read_lines(path, args.encoding))
    text = read_text(args.text, args.encoding) if args.text else None
    html = None
    if args.html:
        try:
            html = Path(args.html).read_bytes()
        except OSError as exc:
            raise InputFileError(
                "unreadable_file", f"cannot read {args.html}: {exc.strerror or exc}"
            ) from exc
    return urls, text, html


def _interrupted(job_id: str) -> int:
    """Say what an interrupted submission left behind, and how to finish it."""
    unsent = job_counts(job_id)["states"].get("recorded", 0) if job_exists(job_id) else 0
    if unsent:
        err_console.print(
            f"[yellow]interrupted:[/] job {job_id} has {unsent:,} items recorded but not "
            f"enqueued; send them with [bold]sluice submit --resume {job_id}[/]"
        )
    else:
        err_console.print(f"[yellow]interrupted:[/] job {job_id} has no item left unsent")
    return EXIT_INTERRUPTED


def _report_pauses(display: EnqueueDisplay) -> None:
    if display.pauses:
        err_console.print(
            f"paused {display.pauses:,} times ({display.paused_seconds:.1f} s in all) "
            "while a stage's queue was full"
        )


def _resume(args: argparse.Namespace) -> int:
    from producers import resume_job

    job_id = args.resume
    if args.urls or args.file or args.feed or args.sitemap or args.text or args.html or args.job:
        line = "--resume takes no other input: it sends what JOB recorded"
        return report(args, EXIT_BAD_INPUT, "usage", line)
    if not job_exists(job_id):
        return report(args, EXIT_BAD_INPUT, "no_such_job", f"no job {clean(job_id)}")
    display = EnqueueDisplay(show=not args.json)
    try:
        with display:
            resumed = resume_job(job_id, refetch=args.refetch, progress=display)
    except SluiceError as exc:
        line = f"cannot resume: {clean(exc.detail or exc)}"
        return report(args, EXIT_BAD_INPUT, str(exc.reason), line)
    except KeyboardInterrupt:
        return _interrupted(job_id)
    _report_pauses(display)
    if not args.json:
        err_console.print(
            f"job {job_id}: {resumed.enqueued:,} items enqueued"
            + (f", {resumed.failed:,} failed as not_enqueued" if resumed.failed else "")
        )
        print(job_id, flush=True)
    return _finish(args, job_id, {"enqueued": resumed.enqueued, "failed": resumed.failed})


def run(args: argparse.Namespace) -> int:
    from producers import submit_html, submit_text, submit_urls
    from producers.expansion import Problem, expand_sources
    from producers.polite import PoliteFetcher
    from producers.submit import record_failed_sources
    from shared.redis_state import get_redis
    from workers.stages.fetch import Fetcher

    if args.resume:
        return _resume(args)
    try:
        file_urls, text, html = _read_inputs(args)
    except InputFileError as exc:
        return report(args, EXIT_INPUT_FILE, str(exc.reason), clean(f"{exc.reason}: {exc}"))
    urls = list(args.urls) + file_urls
    problems: list[Problem] = []
    if args.feed or args.sitemap:
        # Feeds and sitemaps obey robots.txt and the host budget, like pages.
        fetcher = PoliteFetcher(Fetcher(get_settings()), get_redis(), get_settings())
        try:
            expansion = expand_sources(args.feed, args.sitemap, fetcher, get_settings())
        finally:
            fetcher.close()
        urls.extend(expansion.urls)
        problems = expansion.problems
        for problem in problems:
            line = f"{problem.kind} {problem.source}: {problem.reason}: {problem.detail}"
            err_console.print(text_of(line[:500], "yellow"), soft_wrap=True)
        if problems and not (urls or args.text or args.html):
            job_id = args.job or new_job_id()
            record_failed_sources(job_id, [astuple(p) for p in problems])
            err_console.print(text_of(f"job {job_id}: no source could be read", "red"))
            if args.json:
                print_json({"job": job_id, "sources_failed": len(problems)})
            return EXIT_BAD_INPUT
    if not (urls or args.text or args.html):
        line = "nothing to submit (give URLs, --file, --feed, --sitemap, --text or --html)"
        return report(args, EXIT_NOTHING, "nothing_to_submit", line)

    job_id = args.job or new_job_id()
    display = EnqueueDisplay(show=not args.json)
    try:
        with display:
            if urls:
                submit_urls(urls, job_id=job_id, refetch=args.refetch, progress=display)
            if text is not None:
                submit_text(text, title=args.title, url=args.url, job_id=job_id)
            if html is not None:
                submit_html(html, url=args.url, job_id=job_id)
        record_failed_sources(job_id, [astuple(p) for p in problems])
    except KeyboardInterrupt:
        return _interrupted(job_id)
    _report_pauses(display)

    if not args.json:
        print(job_id, flush=True)
    extra = {"sources_failed": len(problems)} if problems else {}
    code = _finish(args, job_id, extra)
    if problems and code in (0, EXIT_FAILED_ITEMS):
        return EXIT_SOME_SOURCES_FAILED
    return code


def _finish(args: argparse.Namespace, job_id: str, extra: dict[str, int]) -> int:
    """Print the result (or wait for the job with --wait) and pick the exit code."""
    if not args.wait:
        if args.json:
            print_json({"job": job_id, **extra})
        return 0
    counts, finished = wait_for_job(job_id, args.timeout, show_progress=not args.json)
    if args.json:
        print_json(counts)
    else:
        for reason, n in sorted(counts["reasons"].items()):
            err_console.print(f"  {reason}: {n}")
    if not finished:
        return EXIT_TIMEOUT
    return EXIT_FAILED_ITEMS if counts["states"].get("failed") else 0
