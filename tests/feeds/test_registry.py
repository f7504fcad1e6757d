"""The feed registry on a real store (SQLite, then PostgreSQL): claims are won once, lapse
after their lease, and a stale poll cannot record; seen entries; pause, resume, remove."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from sluice.shared import feeds as registry
from sluice.shared.feeds import FeedKind
from sluice.workers.feeds.registry import register_feeds

# The session's stores are shared with worker clusters whose feed schedulers would claim
# the feeds these tests register (all due at once), so the registry gets stores of its own.
pytestmark = pytest.mark.usefixtures("own_database_url")


def _urls(n: int) -> list[str]:
    run = uuid.uuid4().hex[:8]
    return [f"http://127.0.0.2/{run}/feed-{i}.xml" for i in range(n)]


def test_racing_schedulers_claim_each_due_feed_once() -> None:
    done, refused = register_feeds(_urls(30), every=1.0)
    assert refused == [] and all(r.created for r in done)
    ids = {r.feed.id for r in done}
    now = registry.now() + 5  # every first poll is within the 1 s interval
    won: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def scheduler() -> None:
        start.wait()
        for feed_id, _ in registry.due_feeds(now, 1000):
            if feed_id in ids and registry.claim(feed_id, now, lease=60) is not None:
                with lock:
                    won.append(feed_id)

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == sorted(ids)  # every feed claimed, none twice


def test_a_lapsed_claim_is_claimed_again_and_the_stale_poll_cannot_record() -> None:
    (done,), _ = register_feeds(_urls(1), every=1.0)
    feed_id = done.feed.id
    now = registry.now() + 5
    first = registry.claim(feed_id, now, lease=10)
    assert first is not None
    assert registry.claim(feed_id, now + 9, lease=10) is None  # still held
    assert registry.claimed_feed(feed_id, first, now + 1) is not None
    second = registry.claim(feed_id, now + 11, lease=10)  # the first poll's worker died
    assert second is not None and second != first
    assert registry.claimed_feed(feed_id, first, now + 12) is None
    assert not registry.finish_poll(feed_id, first, next_poll_at=now + 100, polls=1)
    assert registry.finish_poll(feed_id, second, next_poll_at=now + 100, polls=1)
    assert registry.claim(feed_id, now + 50, lease=10) is None  # not due again yet


def test_seen_entries_pause_resume_remove() -> None:
    (done,), _ = register_feeds(_urls(1), FeedKind.SITEMAP)
    feed = done.feed
    assert (feed.kind, feed.state) == ("sitemap", "active")
    registry.remember_entries(feed.id, ["k1", "k2", "k2"], 0.0)
    registry.remember_entries(feed.id, ["k2", "k3"], 0.0)
    assert registry.seen_keys(feed.id, ["k1", "k3", "k4"]) == {"k1", "k3"}
    again, _ = register_feeds([feed.url])
    assert [(r.feed.id, r.created) for r in again] == [(feed.id, False)]
    assert registry.pause_feed(feed.id)
    assert (feed.id, feed.url) not in registry.due_feeds(registry.now() + 10**6, 10**6)
    assert registry.resume_feed(feed.id, registry.now())
    assert (feed.id, feed.url) in registry.due_feeds(registry.now() + 1, 10**6)
    assert registry.remove_feed(feed.id)
    assert registry.find_feed(feed.id) is None
    assert registry.seen_keys(feed.id, ["k1"]) == set()


def test_bad_urls_are_refused_with_their_reason() -> None:
    done, refused = register_feeds(["ftp://127.0.0.2/f", "not a url"])
    assert done == []
    assert [r.reason for r in refused] == ["unsupported_scheme", "invalid_url"]


def test_seen_entries_are_bounded_by_what_the_feed_still_lists() -> None:
    (done,), _ = register_feeds(_urls(1))
    feed_id = done.feed.id
    registry.remember_entries(feed_id, ["old", "listed"], 1000.0)
    registry.remember_entries(feed_id, ["recent"], 1900.0)
    # A poll at 2000 reads a document still listing "listed"; retention 500 s.
    assert registry.keep_seen(feed_id, ["listed", "never-seen"], 2000.0, 500.0) == 1
    assert registry.seen_keys(feed_id, ["old", "listed", "recent"]) == {"listed", "recent"}


def test_a_claimed_poll_waits_in_its_hosts_frontier_queue_ahead_of_its_pages(
    redis_client: redis.Redis,
) -> None:
    """The scheduler sends nothing to a queue: each claim becomes a frontier item of its
    feed's host, first in line, so it goes on the host's turn like any fetch."""
    from sluice.workers.feeds.scheduler import POLL_FIELD, FeedScheduler
    from sluice.workers.fetching.frontier import Frontier

    url = f"http://127.0.0.9/{uuid.uuid4().hex[:8]}/feed.xml"  # a host of its own
    (done,), _ = register_feeds([url], every=1.0)
    frontier = Frontier(redis_client)
    frontier.add([("job:1", "http://127.0.0.9/page.html", {"url": "x"}, 0)])
    registry.resume_feed(done.feed.id, registry.now() - 5)  # due now
    assert FeedScheduler().step() >= 1
    waiting = frontier.waiting_items("127.0.0.9")
    assert waiting[0] == f"feed-{done.feed.id}" and waiting[-1] == "job:1"
    FeedScheduler().step()  # claimed: a second scheduler does not queue it again
    polls = [i for i in frontier.waiting_items("127.0.0.9") if i.startswith("feed-")]
    assert polls == waiting[:1]
    # The host's turn: the poll goes first. Feeds other tests registered in this store are
    # due too, each at its own host and some earlier, so every due host is released: with
    # room for only a few, this host's turn could come after the room ran out.
    leases, _ = frontier.release(0, 60_000, 100_000)
    (lease,) = [lease for lease in leases if "127.0.0.9" in lease.payload["url"]]
    assert lease.payload[POLL_FIELD] == done.feed.id and lease.payload["url"] == url


def test_a_claim_held_by_its_waiting_poll_is_renewed_and_lapses_only_without_it(
    redis_client: redis.Redis,
) -> None:
    """A claim whose lease ran out while its poll item waits for its host's turn is renewed,
    not taken again (which would queue a second poll); only once the item is gone (Redis
    lost it, or its poll was cut short) is the feed claimed again, as the same item."""
    from sluice.workers.feeds.scheduler import CLAIM_FIELD, FeedScheduler, poll_item
    from sluice.workers.fetching.frontier import Frontier

    url = f"http://127.0.0.8/{uuid.uuid4().hex[:8]}/feed.xml"  # a host of its own
    (done,), _ = register_feeds([url], every=1.0)
    feed_id, item = done.feed.id, poll_item(done.feed.id)
    frontier = Frontier(redis_client)
    registry.resume_feed(feed_id, registry.now() - 5)  # due now
    FeedScheduler().step()
    (payload,) = frontier.payloads([item])
    assert payload is not None
    token = payload[CLAIM_FIELD]

    def lapse(claim: str) -> None:  # its lease ran out a while ago
        registry.renew_claims({feed_id: (claim, claim)}, registry.now() - 100, lease=1)
        assert registry.claimed_feed(feed_id, claim, registry.now() - 100) is not None
        assert registry.claimed_feed(feed_id, claim, registry.now()) is None  # lapsed

    lapse(token)
    for _ in range(3):
        FeedScheduler().step()
    polls = [i for i in frontier.waiting_items("127.0.0.8") if i.startswith("feed-")]
    assert polls == [item] and frontier.payloads([item]) == [payload]
    held = registry.find_feed(feed_id)
    assert held is not None and held.to_dict()["next_poll_at"] <= registry.now()
    assert registry.claimed_feed(feed_id, token, registry.now()) is not None  # renewed

    # The turn comes long after the claim lapsed: the poll's claim is still the feed's.
    lapse(token)
    assert registry.holding_feed(feed_id, token) is not None

    # A claimer that won a lapsed claim but queued nothing (the item was there): once its
    # claim lapses too, the feed's claim is handed back to the poll that holds its place.
    lapse(token)
    lost = registry.claim(feed_id, registry.now(), lease=60)
    assert lost is not None and lost != token
    lapse(lost)
    FeedScheduler().step()
    assert registry.holding_feed(feed_id, token) is not None
    assert frontier.payloads([item]) == [payload]

    # The item is gone (its poll cut short): once the claim lapses, the feed is claimed again.
    leases, _ = frontier.release(0, 60_000, 100_000)
    (lease,) = [lease for lease in leases if lease.item == item]
    assert frontier.finish(item, lease.token)
    lapse(token)
    FeedScheduler().step()
    (again,) = frontier.payloads([item])
    assert again is not None and again[CLAIM_FIELD] != token
    assert registry.holding_feed(feed_id, token) is None  # replaced
    assert registry.holding_feed(feed_id, again[CLAIM_FIELD]) is not None


def test_a_long_list_is_registered_in_order_each_url_once() -> None:
    """Registered a chunk at a time; a URL listed twice, or registered before, is not new."""
    urls = _urls(1201)
    (before,), _ = register_feeds(urls[700:701])
    done, refused = register_feeds([*urls, urls[3], "ftp://127.0.0.2/no.xml"])
    assert [r.feed.url for r in done] == [*urls, urls[3]]
    assert [r.created for r in done].count(False) == 2
    assert not done[700].created and done[700].feed.id == before.feed.id
    assert not done[-1].created and done[-1].feed.id == done[3].feed.id
    assert len({r.feed.job_id for r in done}) == 1201  # one job per feed
    assert [r.reason for r in refused] == ["unsupported_scheme"]


def test_schedule_figures_count_states_polls_running_and_feeds_due() -> None:
    at = registry.now() + 5  # every first poll is within the 1 s interval
    before = registry.schedule_figures(at)
    done, _ = register_feeds(_urls(4), every=1.0)
    ids = [r.feed.id for r in done]
    assert registry.pause_feed(ids[0])
    assert registry.claim(ids[1], at, lease=60) is not None  # its poll is running
    after = registry.schedule_figures(at)
    grew = {state: n - before.states[state] for state, n in after.states.items()}
    assert grew == {"active": 3, "paused": 1, "disabled": 0}
    assert after.polling - before.polling == 1
    assert after.due_now - before.due_now == 2  # neither the paused nor the claimed one
    assert after.most_overdue is not None and after.most_overdue >= 4.0
    # Nothing is due before the first polls' moment.
    assert registry.schedule_figures(registry.now() - 3600).due_now == 0


def test_a_feed_registered_new_only_skips_its_first_listing_and_others_do_not() -> None:
    (skipping,), _ = register_feeds(_urls(1), new_only=True)
    (taking,), _ = register_feeds(_urls(1))
    assert skipping.feed.skip_listed and not taking.feed.skip_listed
    # Registered again without the option, a feed keeps what it was registered with.
    (again,), _ = register_feeds([skipping.feed.url])
    assert not again.created and again.feed.skip_listed


def test_new_feeds_are_due_at_once_unless_spread_or_new_only() -> None:
    """By default a first poll is due at registration; ``spread`` (or ``new_only``, over
    SLUICE_FEED_MIN_INTERVAL, 300 s by default) puts each at a stable point within it."""
    start = registry.now()
    at_once, _ = register_feeds(_urls(20))
    assert all(r.feed.next_poll_at <= registry.now() for r in at_once)
    spread, _ = register_feeds(_urls(20), spread=3600.0)
    offsets = [r.feed.next_poll_at - start for r in spread]
    assert all(0 <= o <= 3600 + 5 for o in offsets) and max(offsets) > 600
    new_only, _ = register_feeds(_urls(20), new_only=True)
    offsets = [r.feed.next_poll_at - start for r in new_only]
    assert all(0 <= o <= 300 + 5 for o in offsets) and max(offsets) > 30
