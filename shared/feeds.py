"""The feed registry: feeds and sitemaps kept in the store, their schedule, claims and seen
entries. Reading and writing the ``feeds`` and ``feed_entries`` tables is this module's only
job; polling is :mod:`workers.feeds.polling`'s, scheduling :mod:`workers.feeds.scheduler`'s.

Times are seconds since the epoch, by the cluster's clock (:func:`now`: Redis's ``TIME``,
whichever machine asks). A poll *claims* its feed with a compare-and-set
(``UPDATE … WHERE next_poll_at <= now AND claimed_until < now``), so however many
schedulers run, one feed is polled by one of them per interval; the claim lapses after
``SLUICE_FEED_POLL_LEASE`` so a poll whose worker died is not forgotten. The schedule lives
in the store, so a restart loses none of it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from sluice.shared import clock as cluster_clock
from sluice.shared.db.engine import read_scope, session_scope
from sluice.shared.db.schema import feed_entries, feeds, jobs

__all__ = [
    "Feed",
    "FeedKind",
    "FeedState",
    "NewFeed",
    "ScheduleFigures",
    "add_feed",
    "add_feeds",
    "bring_forward",
    "claim",
    "claimed_feed",
    "counts_by_state",
    "due_feeds",
    "entry_key",
    "find_feed",
    "finish_poll",
    "keep_seen",
    "list_feeds",
    "move_feed",
    "new_job_for",
    "now",
    "pause_feed",
    "remember_entries",
    "remove_feed",
    "resume_feed",
    "schedule_figures",
    "seen_keys",
]

_CHUNK = 500


class FeedKind(StrEnum):
    FEED = "feed"  # RSS, Atom, RDF, JSON Feed
    SITEMAP = "sitemap"  # a sitemap or news sitemap
    SECTION = "section"  # an HTML front or section page: its new article links are its entries


class FeedState(StrEnum):
    ACTIVE = "active"  # polled on its schedule
    PAUSED = "paused"  # by hand
    DISABLED = "disabled"  # by sluice, after SLUICE_FEED_DISABLE_AFTER failed polls


@dataclass(frozen=True, slots=True)
class Feed:
    """One registered feed, as the store has it."""

    id: int
    url: str
    kind: str
    state: str
    reason: str | None
    detail: str | None
    title: str | None
    job_id: str
    every: float | None
    interval: float
    next_poll_at: float
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    polls: int
    failures: int
    entries: int
    last_poll_at: float | None
    last_outcome: str | None
    last_new: int | None
    pace: float | None = None  # typical gap between its entries (s)
    last_entry_at: float | None = None  # the last poll that found new entries
    skip_listed: bool = False  # its next successful poll only marks what is listed as seen

    @classmethod
    def from_row(cls, row: Any) -> Feed:
        data = row._mapping
        return cls(**{name: data[name] for name in cls.__slots__})

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def entry_key(kind: str, value: str) -> str:
    """The seen-entry key of an entry's ``kind`` (``link`` or ``guid``) and value."""
    return hashlib.blake2b(f"{kind}:{value}".encode(), digest_size=16).hexdigest()


def new_job_for(url: str) -> str:
    """A fresh job id for a feed's items (one job per feed)."""
    del url
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True, slots=True)
class NewFeed:
    """A feed to register: its URL, starting interval, first poll time and title."""

    url: str
    interval: float
    first_poll_at: float
    title: str = ""


def add_feed(
    url: str,
    kind: FeedKind,
    *,
    interval: float,
    first_poll_at: float,
    every: float | None = None,
    title: str = "",
    skip_listed: bool = False,
) -> tuple[Feed, bool]:
    """Register ``url`` with its own job; returns ``(feed, created)`` — a URL already
    registered is returned as it is."""
    new = [NewFeed(url, interval, first_poll_at, title)]
    ((feed, created),) = add_feeds(new, kind, every, skip_listed=skip_listed)
    return feed, created


def add_feeds(
    new: Sequence[NewFeed],
    kind: FeedKind,
    every: float | None = None,
    *,
    skip_listed: bool = False,
) -> list[tuple[Feed, bool]]:
    """Register many feeds, a few hundred per transaction (a list of 10,000 is imported in
    seconds); returns ``(feed, created)`` for each, in order. A URL registered already, or
    earlier in ``new``, is returned as it is. With ``skip_listed``, the entries the new
    feeds list at their first successful poll are marked seen and make no items."""
    out: list[tuple[Feed, bool]] = []
    for start in range(0, len(new), _CHUNK):
        out += _add_chunk(new[start : start + _CHUNK], kind, every, skip_listed)
    return out


def _by_url(urls: Iterable[str]) -> dict[str, Feed]:
    with read_scope() as conn:
        rows = conn.execute(select(feeds).where(feeds.c.url.in_(set(urls))))
        return {row.url: Feed.from_row(row) for row in rows}


def _add_chunk(
    chunk: Sequence[NewFeed], kind: FeedKind, every: float | None, skip_listed: bool
) -> list[tuple[Feed, bool]]:
    existing = _by_url(spec.url for spec in chunk)
    fresh = list({spec.url: spec for spec in reversed(chunk) if spec.url not in existing}.values())
    fresh.reverse()  # each URL once, at its first place
    if fresh:
        jobs_of = {spec.url: new_job_for(spec.url) for spec in fresh}
        try:
            with session_scope() as conn:
                conn.execute(
                    insert(jobs),
                    [
                        {"id": jobs_of[s.url], "total": 0, "description": f"feed {s.url}"[:500]}
                        for s in fresh
                    ],
                )
                conn.execute(
                    insert(feeds),
                    [
                        {
                            "url": s.url,
                            "kind": kind.value,
                            "state": FeedState.ACTIVE.value,
                            "title": s.title or None,
                            "job_id": jobs_of[s.url],
                            "every": every,
                            "interval": s.interval,
                            "next_poll_at": s.first_poll_at,
                            "polls": 0,
                            "failures": 0,
                            "entries": 0,
                            "skip_listed": skip_listed,
                        }
                        for s in fresh
                    ],
                )
        except IntegrityError:  # someone registered one of them a moment ago: one at a time
            if len(chunk) == 1:
                return [(_registered(chunk[0].url), False)]
            return [pair for spec in chunk for pair in _add_chunk([spec], kind, every, skip_listed)]
    created = _by_url(spec.url for spec in fresh)
    out: list[tuple[Feed, bool]] = []
    for spec in chunk:
        if spec.url in created:
            out.append((created.pop(spec.url), True))
        else:
            out.append((existing.get(spec.url) or _registered(spec.url), False))
    return out


def _registered(url: str) -> Feed:
    feed = find_feed(url)
    if feed is None:  # pragma: no cover - the store lost a row it just reported
        raise LookupError(url)
    return feed


def find_feed(url_or_id: str | int) -> Feed | None:
    """The feed with this id (a number) or URL, or ``None``."""
    with read_scope() as conn:
        query = select(feeds)
        if isinstance(url_or_id, int) or str(url_or_id).isdigit():
            query = query.where(feeds.c.id == int(url_or_id))
        else:
            query = query.where(feeds.c.url == str(url_or_id))
        row = conn.execute(query).first()
    return Feed.from_row(row) if row is not None else None


def list_feeds(state: str | None = None) -> list[Feed]:
    """Every registered feed (in one state), oldest first."""
    with read_scope() as conn:
        query = select(feeds).order_by(feeds.c.id)
        if state is not None:
            query = query.where(feeds.c.state == state)
        return [Feed.from_row(row) for row in conn.execute(query)]


def counts_by_state() -> dict[str, int]:
    """How many feeds are in each state (every state named, zero included)."""
    with read_scope() as conn:
        rows = conn.execute(select(feeds.c.state, func.count()).group_by(feeds.c.state)).all()
    counts = {state.value: 0 for state in FeedState}
    counts.update({state: int(n) for state, n in rows})
    return counts


@dataclass(frozen=True, slots=True)
class ScheduleFigures:
    """Where the feeds' polls stand: feeds per state, active feeds being polled now (claimed),
    active feeds due and not claimed, and how far behind the most overdue of those is (s)."""

    states: dict[str, int]
    polling: int
    due_now: int
    most_overdue: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "states": self.states,
            "polling": self.polling,
            "due_now": self.due_now,
            "most_overdue_seconds": self.most_overdue,
        }


def schedule_figures(now: float) -> ScheduleFigures:
    """The feeds' schedule at ``now``, in two queries."""
    active = feeds.c.state == FeedState.ACTIVE.value
    claimed = and_(active, feeds.c.claimed_until.is_not(None), feeds.c.claimed_until >= now)
    with read_scope() as conn:
        polling = int(conn.execute(select(func.count()).where(claimed)).scalar() or 0)
        due, earliest = conn.execute(
            select(func.count(), func.min(feeds.c.next_poll_at)).where(
                active, feeds.c.next_poll_at <= now, _free(now)
            )
        ).one()
    return ScheduleFigures(
        states=counts_by_state(),
        polling=polling,
        due_now=int(due or 0),
        most_overdue=None if earliest is None else max(0.0, now - float(earliest)),
    )


def _set(feed_id: int, **values: Any) -> bool:
    with session_scope() as conn:
        done = conn.execute(
            update(feeds).where(feeds.c.id == feed_id).values(updated_at=func.now(), **values)
        )
    return bool(done.rowcount)


def pause_feed(feed_id: int) -> bool:
    """Stop polling a feed until it is resumed."""
    return _set(feed_id, state=FeedState.PAUSED.value)


def resume_feed(feed_id: int, now: float) -> bool:
    """Poll a paused or disabled feed again, at once, its failures forgotten."""
    return _set(
        feed_id,
        state=FeedState.ACTIVE.value,
        reason=None,
        detail=None,
        failures=0,
        next_poll_at=now,
    )


def bring_forward(feed_id: int, now: float) -> bool:
    """Make an active feed due ``now`` (if it was due later), for :func:`claim`; False when
    it is not active."""
    with session_scope() as conn:
        done = conn.execute(
            update(feeds)
            .where(feeds.c.id == feed_id, feeds.c.state == FeedState.ACTIVE.value)
            .values(
                next_poll_at=case((feeds.c.next_poll_at > now, now), else_=feeds.c.next_poll_at),
                updated_at=func.now(),
            )
        )
    return bool(done.rowcount)


def remove_feed(feed_id: int) -> bool:
    """Forget a feed and its seen entries; its job, items and articles stay."""
    with session_scope() as conn:
        conn.execute(delete(feed_entries).where(feed_entries.c.feed_id == feed_id))
        done = conn.execute(delete(feeds).where(feeds.c.id == feed_id))
    return bool(done.rowcount)


def due_feeds(now: float, limit: int) -> list[tuple[int, str]]:
    """Ids and URLs of active feeds due by ``now`` and not claimed, earliest first."""
    with read_scope() as conn:
        rows = conn.execute(
            select(feeds.c.id, feeds.c.url)
            .where(feeds.c.state == FeedState.ACTIVE.value, feeds.c.next_poll_at <= now, _free(now))
            .order_by(feeds.c.next_poll_at)
            .limit(limit)
        )
        return [(int(row[0]), str(row[1])) for row in rows]


def _free(now: float) -> Any:
    return or_(feeds.c.claimed_until.is_(None), feeds.c.claimed_until < now)


def claim(feed_id: int, now: float, lease: float) -> str | None:
    """Claim a due feed's poll for ``lease`` seconds: its token, or ``None`` when it is not
    due or another scheduler claimed it first (one statement: compare and set)."""
    token = uuid.uuid4().hex
    with session_scope() as conn:
        done = conn.execute(
            update(feeds)
            .where(
                feeds.c.id == feed_id,
                feeds.c.state == FeedState.ACTIVE.value,
                feeds.c.next_poll_at <= now,
                _free(now),
            )
            .values(claim=token, claimed_until=now + lease)
        )
    return token if done.rowcount == 1 else None


def claimed_feed(feed_id: int, token: str, now: float) -> Feed | None:
    """The feed, if ``token`` still holds its claim (else a stale poll: ``None``)."""
    with read_scope() as conn:
        row = conn.execute(
            select(feeds).where(
                feeds.c.id == feed_id,
                feeds.c.claim == token,
                feeds.c.claimed_until >= now,
                feeds.c.state == FeedState.ACTIVE.value,
            )
        ).first()
    return Feed.from_row(row) if row is not None else None


def finish_poll(feed_id: int, token: str, **values: Any) -> bool:
    """Record a poll's result and release its claim; False when the claim was lost."""
    with session_scope() as conn:
        done = conn.execute(
            update(feeds)
            .where(feeds.c.id == feed_id, feeds.c.claim == token)
            .values(claim=None, claimed_until=None, updated_at=func.now(), **values)
        )
    return bool(done.rowcount)


def move_feed(feed_id: int, url: str) -> bool:
    """A permanent redirect: the feed is at ``url`` now. False when ``url`` is another
    registered feed already."""
    try:
        return _set(feed_id, url=url)
    except IntegrityError:
        return False


def seen_keys(feed_id: int, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` the feed has seen already."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    with read_scope() as conn:
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = conn.execute(
                select(feed_entries.c.key).where(
                    and_(feed_entries.c.feed_id == feed_id, feed_entries.c.key.in_(chunk))
                )
            )
            found.update(row[0] for row in rows)
    return found


def remember_entries(feed_id: int, keys: Sequence[str], now: float) -> None:
    """Mark ``keys`` seen (keys already there are skipped)."""
    known = seen_keys(feed_id, keys)
    fresh = [key for key in dict.fromkeys(keys) if key not in known]
    with session_scope() as conn:
        for start in range(0, len(fresh), 5000):
            conn.execute(
                insert(feed_entries),
                [
                    {"feed_id": feed_id, "key": k, "seen_at": now}
                    for k in fresh[start : start + 5000]
                ],
            )


def keep_seen(feed_id: int, keys: Sequence[str], now: float, retention: float) -> int:
    """Bound a feed's seen entries: the keys of its current document are marked seen
    ``now``; keys not in it for ``retention`` seconds are forgotten. Returns how many."""
    wanted = list(dict.fromkeys(keys))
    with session_scope() as conn:
        for start in range(0, len(wanted), _CHUNK):
            conn.execute(
                update(feed_entries)
                .where(
                    feed_entries.c.feed_id == feed_id,
                    feed_entries.c.key.in_(wanted[start : start + _CHUNK]),
                )
                .values(seen_at=now)
            )
        done = conn.execute(
            delete(feed_entries).where(
                feed_entries.c.feed_id == feed_id, feed_entries.c.seen_at < now - retention
            )
        )
    return int(done.rowcount or 0)


def now() -> float:
    """The registry's clock: seconds since the epoch by the cluster's clock (Redis's
    ``TIME``, the crawl frontier's), whichever machine asks."""
    return cluster_clock.now()
