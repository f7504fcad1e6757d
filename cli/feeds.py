"""``sluice feeds add|import|discover|list|show|poll|pause|resume|remove``: feeds sluice keeps
polling.

A registered feed (or sitemap, or HTML section page: ``add --html``) is polled by the fetch
workers on its own schedule; its new entries (a section page's: its new article links)
become items of the feed's own job (``sluice verify JOB``). Exit codes: 0 done; 1
some URLs were refused (the others registered); 2 no such feed; 8 the list file cannot be
read or parsed.
"""

from __future__ import annotations

import argparse
from typing import Any

from sluice.cli.errors import EXIT_FAILED, EXIT_INPUT_FILE, EXIT_USAGE, report
from sluice.cli.inputs import InputFileError, read_bytes
from sluice.cli.output import clean, nothing, print_json, text
from sluice.cli.times import moment, relative, span

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "feeds",
        help="register feeds and sitemaps that sluice keeps polling",
        description="Feeds and sitemaps registered here are polled by the fetch workers, each "
        "on its own learned schedule; only entries not seen before become items, of one job "
        "per feed.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="register feed URLs (--sitemap: sitemaps; --html: section pages to watch)",
    )
    add.add_argument("urls", nargs="+", metavar="URL")
    _registration_options(add)
    add.set_defaults(func=run_add)
    imp = actions.add_parser("import", help="register the feeds of an OPML file or URL list")
    imp.add_argument("file", metavar="FILE", help="OPML, or one URL per line ('-': stdin)")
    _registration_options(imp)
    imp.set_defaults(func=run_import)
    ls = actions.add_parser("list", help="every registered feed, with its state and reason")
    ls.add_argument("--state", choices=["active", "paused", "disabled"])
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=run_list)
    show = actions.add_parser("show", help="one feed in full")
    show.add_argument("feed", metavar="URL_OR_ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    disc = actions.add_parser(
        "discover",
        help="find a site's feeds and sitemaps",
        description="Reads the page's <link rel=alternate> feeds and robots.txt's sitemaps, "
        "and tries the usual feed and sitemap paths. When the site has no feed, the page and "
        "the sections its navigation links to are proposed (kind 'section') as pages to "
        "watch with 'sluice feeds add --html'; --add does not register them.",
    )
    disc.add_argument("url", metavar="URL")
    disc.add_argument("--add", action="store_true", help="register what was found")
    disc.add_argument("--every", type=float, metavar="MINUTES", help="with --add: as for add")
    disc.add_argument("--new-only", action="store_true", help="with --add: as for add")
    disc.add_argument("--spread", type=float, metavar="MINUTES", help="with --add: as for add")
    disc.add_argument("--json", action="store_true")
    disc.set_defaults(func=run_discover)
    poll = actions.add_parser(
        "poll",
        help="poll feeds now (on their host's next turn), whatever their schedule",
        description="Each active feed named is claimed and its poll put into the crawl "
        "frontier, first in line at its host, as the fetch workers' scheduler does when a "
        "feed is due: it goes on the host's next turn. A feed whose poll is already running "
        "is left to it. Paused and disabled feeds are not polled: 'sluice feeds resume' "
        "polls them again. Exit codes: 0 every feed is being polled; 1 some were not active; "
        "2 no such feed.",
    )
    poll.add_argument("feeds", nargs="+", metavar="URL_OR_ID")
    poll.add_argument("--json", action="store_true")
    poll.set_defaults(func=run_poll)
    for name, helptext in (
        (
            "pause",
            "stop polling feeds until they are resumed, and drop their entries still waiting "
            "in the store for room in the frontier (ended skipped, feed_paused): how a "
            "runaway feed's work is stopped",
        ),
        ("resume", "poll paused or disabled feeds again, now"),
        ("remove", "forget feeds (their jobs and articles stay)"),
    ):
        change = actions.add_parser(name, help=helptext)
        change.add_argument("feeds", nargs="+", metavar="URL_OR_ID")
        change.add_argument("--json", action="store_true")
        change.set_defaults(func=run_change, change=name)


def _registration_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--every",
        type=float,
        metavar="MINUTES",
        help="poll every MINUTES instead of a learned interval",
    )
    kinds = p.add_mutually_exclusive_group()
    kinds.add_argument("--sitemap", action="store_true", help="the URLs are sitemaps, not feeds")
    kinds.add_argument(
        "--html",
        action="store_true",
        help="the URLs are HTML front or section pages to watch: each poll takes the links "
        "on the page's host that look like articles and were not seen before",
    )
    p.add_argument(
        "--new-only",
        action="store_true",
        help="fetch only entries that appear after the first poll, not what is listed now "
        "(first polls are then spread over SLUICE_FEED_MIN_INTERVAL)",
    )
    p.add_argument(
        "--spread",
        type=float,
        metavar="MINUTES",
        help="spread the first polls of new feeds over MINUTES (default: each is polled at "
        "once, within a few seconds)",
    )
    p.add_argument("--json", action="store_true")


def _register(args: argparse.Namespace, listed: list[Any]) -> int:
    from sluice.cli.output import console
    from sluice.shared.clock import now as cluster_now
    from sluice.shared.feeds import FeedKind
    from sluice.workers.feeds.registry import register_feeds

    if args.every is not None and args.every <= 0:
        return report(args, EXIT_USAGE, "usage", "--every must be above 0 minutes")
    if args.spread is not None and args.spread < 0:
        return report(args, EXIT_USAGE, "usage", "--spread takes 0 minutes or more")
    kind = FeedKind.SITEMAP if args.sitemap else FeedKind.SECTION if args.html else FeedKind.FEED
    every = args.every * 60 if args.every is not None else None
    spread = args.spread * 60 if args.spread is not None else None
    done, refused = register_feeds(listed, kind, every, new_only=args.new_only, spread=spread)
    if args.json:
        print_json(
            {
                "registered": [
                    {"id": r.feed.id, "url": r.feed.url, "job": r.feed.job_id, "new": r.created}
                    for r in done
                ],
                "refused": [
                    {"url": r.url, "reason": r.reason, "detail": r.detail} for r in refused
                ],
            }
        )
    else:
        now = cluster_now()
        for r in done:
            state = "registered" if r.created else "already registered"
            what = "HTML section page" if r.feed.kind == FeedKind.SECTION else "feed"
            line = f"{state}: {what} {r.feed.id} (job {r.feed.job_id}) {r.feed.url}"
            if r.created:
                due = r.feed.next_poll_at
                line += f", first poll {'now' if due <= now else relative(due, now)}"
            console.print(text(line))
        for no in refused:
            console.print(text(f"refused: {no.url}: {no.reason}: {no.detail}"))
    return EXIT_FAILED if refused else 0


def run_add(args: argparse.Namespace) -> int:
    return _register(args, list(args.urls))


def run_import(args: argparse.Namespace) -> int:
    from sluice.shared.errors import SluiceError
    from sluice.workers.feeds.lists import parse_feed_list

    try:
        listed = parse_feed_list(read_bytes(args.file))
    except InputFileError as exc:
        return report(args, EXIT_INPUT_FILE, str(exc.reason), clean(f"{exc.reason}: {exc}"))
    except SluiceError as exc:
        return report(args, EXIT_INPUT_FILE, str(exc.reason), clean(f"{exc.reason}: {exc.detail}"))
    return _register(args, listed)


def run_discover(args: argparse.Namespace) -> int:
    from sluice.cli.output import console
    from sluice.producers.turn_fetcher import TurnFetcher
    from sluice.shared.feeds import FeedKind
    from sluice.shared.redis_state import get_redis
    from sluice.shared.settings import get_settings
    from sluice.workers.feeds.discovery import discover_site
    from sluice.workers.feeds.registry import register_feeds
    from sluice.workers.fetching.client import Fetcher

    settings = get_settings()
    fetcher = TurnFetcher(Fetcher(settings), get_redis(), settings)
    try:
        found = discover_site(args.url, fetcher)
    finally:
        fetcher.close()
    added: list[Any] = []
    if args.add:
        every = args.every * 60 if args.every else None
        feeds = [d.url for d in found.found if d.kind not in ("sitemap", "section")]
        sitemaps = [d.url for d in found.found if d.kind == "sitemap"]
        options: dict[str, Any] = {
            "new_only": args.new_only,
            "spread": args.spread * 60 if args.spread is not None else None,
        }
        added = register_feeds(feeds, FeedKind.FEED, every, **options)[0]
        added += register_feeds(sitemaps, FeedKind.SITEMAP, every, **options)[0]
    if args.json:
        print_json(
            {
                "found": [
                    {"url": d.url, "kind": d.kind, "found_in": d.found_in, "title": d.title}
                    for d in found.found
                ],
                "problems": [{"url": u, "reason": r} for u, r in found.problems],
                "registered": [{"id": r.feed.id, "url": r.feed.url} for r in added],
            }
        )
    else:
        for d in found.found:
            console.print(text(f"{d.kind:8} {d.url}  ({d.found_in}) {d.title}".rstrip()))
        if not found.found:
            console.print("no feed or sitemap found")
        sections = [d.url for d in found.found if d.kind == "section"]
        if sections:
            console.print("no feed found: to watch section pages instead, pick from")
            console.print(text(f"  sluice feeds add --html {' '.join(sections)}"))
        for r in added:
            console.print(text(f"registered: feed {r.feed.id} {r.feed.url}"))
    return 0 if found.found else EXIT_FAILED


def _as_dict(feed: Any, now: float) -> dict[str, Any]:
    data: dict[str, Any] = feed.to_dict()
    data.pop("etag", None)
    data.pop("last_modified", None)
    data["next_poll_in"] = round(feed.next_poll_at - now, 1)
    return data


def run_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sluice.cli.output import console
    from sluice.shared.clock import now as cluster_now
    from sluice.shared.feeds import list_feeds

    feeds = list_feeds(args.state)
    now = cluster_now()
    if args.json:
        print_json([_as_dict(f, now) for f in feeds])
        return 0
    if not feeds:
        which = f"{args.state} " if args.state else ""
        hint = "" if args.state else " (sluice feeds add URL)"
        console.print(nothing(f"no {which}feeds registered{hint}"))
        return 0
    table = Table()
    for column in ("id", "state", "kind", "every", "next poll", "polls", "new", "last", "reason"):
        table.add_column(column)
    table.add_column("url", overflow="fold")
    for f in feeds:
        table.add_row(
            str(f.id),
            text(f.state),
            text(_KIND_LABELS.get(f.kind, f.kind)),
            span(f.interval),
            relative(f.next_poll_at, now) if f.state == "active" else "-",
            str(f.polls),
            str(f.entries),
            text(f.last_outcome or "-"),
            text(f.reason or ""),
            text(f.url),
        )
    console.print(table)
    return 0


def _find(args: argparse.Namespace, key: str) -> Any:
    from sluice.shared.feeds import find_feed

    return find_feed(key.strip())


def run_show(args: argparse.Namespace) -> int:
    from sluice.cli.output import console
    from sluice.shared.clock import now as cluster_now

    feed = _find(args, args.feed)
    if feed is None:
        return report(args, EXIT_USAGE, "unknown_feed", clean(f"no feed {args.feed}"))
    now = cluster_now()
    data = _as_dict(feed, now)
    if args.json:
        print_json(data)
        return 0
    for name, value in data.items():
        if name in _MOMENTS:
            value = moment(value, now)
        elif name in _SPANS and value is not None:
            value = span(value)
        elif name == "next_poll_in":
            continue  # next_poll_at says it
        elif name == "kind" and value in _KIND_NOTES:
            value = f"{value} ({_KIND_NOTES[value]})"
        console.print(text(f"{name}: {'' if value is None else value}"))
    return 0


# How a kind is shown where "feed" alone would mislead.
_KIND_LABELS = {"section": "html section"}
_KIND_NOTES = {
    "section": "an HTML section page: its new links that look like articles are its entries"
}

# Fields of a feed that are moments (seconds since the epoch) and spans (seconds).
_MOMENTS = ("next_poll_at", "claimed_until", "last_poll_at", "last_entry_at")
_SPANS = ("every", "interval", "pace")


def run_poll(args: argparse.Namespace) -> int:
    from sluice.shared.feeds import FeedState
    from sluice.workers.feeds.scheduler import poll_now

    found = [(key, _find(args, key)) for key in args.feeds]
    missing = [key for key, feed in found if feed is None]
    if missing:
        return report(args, EXIT_USAGE, "unknown_feed", clean(f"no feed {', '.join(missing)}"))
    queued: list[int] = []
    running: list[int] = []
    inactive: list[Any] = []
    for _key, feed in found:
        if feed.state != FeedState.ACTIVE.value:
            inactive.append(feed)
        elif poll_now(feed.id, feed.url):
            queued.append(feed.id)
        elif feed.id not in queued:
            running.append(feed.id)
    if args.json:
        print_json(
            {
                "queued": queued,
                "already_polling": running,
                "not_active": [{"id": f.id, "state": f.state} for f in inactive],
            }
        )
    else:
        from sluice.cli.output import console

        for feed_id in queued:
            console.print(f"feed {feed_id}: poll queued, on its host's next turn")
        for feed_id in running:
            console.print(f"feed {feed_id}: a poll of it is already under way")
        for f in inactive:
            console.print(f"feed {f.id}: {f.state}, not polled (sluice feeds resume {f.id})")
    return EXIT_FAILED if inactive else 0


def run_change(args: argparse.Namespace) -> int:
    from sluice.cli.output import console
    from sluice.shared.feeds import now, pause_feed, remove_feed, resume_feed
    from sluice.workers.feeds.admission import drop_waiting

    found = [(key, _find(args, key)) for key in args.feeds]
    missing = [key for key, feed in found if feed is None]
    if missing:
        return report(args, EXIT_USAGE, "unknown_feed", clean(f"no feed {', '.join(missing)}"))
    changed, dropped = [], 0
    for _key, feed in found:
        if args.change == "pause":
            pause_feed(feed.id)
            dropped += drop_waiting(feed)
        elif args.change == "resume":
            resume_feed(feed.id, now())
        else:
            remove_feed(feed.id)
        changed.append(feed.id)
    if args.json:
        print_json(
            {args.change: changed} | ({"dropped": dropped} if args.change == "pause" else {})
        )
    else:
        console.print(f"{args.change}: {len(changed)} feed(s)")
        if dropped:
            console.print(f"{dropped} waiting entries dropped (skipped, feed_paused)")
    return 0
