"""Work a stage creates (workers.found_work): URLs an outcome carries become items of the job,
recorded before they enter the frontier through its door, each once per job, and no more of
them than the producers' high-water mark lets in; on a real Redis and store, no workers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from sluice.producers.crawl import submit_crawl
from sluice.producers.intake import Door, Sources, send, take_in
from sluice.producers.resume import resume_job
from sluice.shared.article import Article
from sluice.shared.jobs import (
    ItemSpec,
    JobOptions,
    create_job,
    job_counts,
    job_options,
    list_items,
    new_job_id,
)
from sluice.shared.outcomes import Final, Forward, NewUrl, Outcome
from sluice.shared.queues import queue_keys
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers import found_work, running
from sluice.workers.crawl import seen
from sluice.workers.crawl.figures import CRAWLS_KEY
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.crawl.waiting import send_waiting
from sluice.workers.fetching.frontier import Frontier, Lease, arrival_of, enter
from sluice.workers.found_work import FoundWork, admit_found, found_key
from sluice.workers.pipeline import STAGES
from sluice.workers.running import run_stage

HOST = "127.0.0.61"


class _Task:
    request = SimpleNamespace(retries=0)

    def retry(self, **_: object) -> Exception:
        raise AssertionError("the task must not be retried")


@pytest.fixture
def frontier() -> Iterator[Frontier]:
    """The crawl frontier and the stage queues, empty before and after the test."""
    frontier = Frontier(get_redis())

    def clear() -> None:
        frontier.clear()
        for stage in STAGES:
            get_redis().delete(*queue_keys(stage))

    clear()
    yield frontier
    clear()


@pytest.fixture
def finder() -> Iterator[Article]:
    """Item 0 of a new job: a page whose stage finds links."""
    job_id = new_job_id()
    create_job(job_id, [ItemSpec("url", f"http://{HOST}/index.html")])
    yield Article(job_id, 0, url=f"http://{HOST}/index.html", languages=["en"])
    get_redis().delete(found_key(job_id))
    seen.forget(get_redis(), job_id)


def _high_water(monkeypatch: pytest.MonkeyPatch, high: int, low: int) -> None:
    monkeypatch.setenv("SLUICE_QUEUE_HIGH_WATER", str(high))
    monkeypatch.setenv("SLUICE_QUEUE_LOW_WATER", str(low))
    get_settings.cache_clear()


def _finding(*urls: str, priority: int = 4) -> Callable[[Article], Outcome]:
    def extract(article: Article) -> Outcome:
        return Forward(found=tuple(NewUrl.found_in(article, u, priority) for u in urls))

    return extract


def test_found_urls_are_recorded_then_enter_the_frontier_with_their_provenance(
    finder: Article, frontier: Frontier, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = (
        f"http://{HOST}/a.html",
        f"http://{HOST}/b.html",
        f"http://{HOST}/a.html#comments",  # the same page as a.html
        "mailto:editor@example.test",  # not fetchable
    )
    monkeypatch.setattr(running, "body_of", lambda name: _finding(*found))
    run_stage(_Task(), finder.to_dict(), "extract")

    counts = job_counts(finder.job_id)
    assert counts["submitted"] == 3 and counts["missing"] == 0  # the finder and its two new URLs
    new = list_items(finder.job_id)[1:]
    assert [(i["item_id"], i["source"], i["state"], i["found_by"], i["depth"]) for i in new] == [
        (1, f"http://{HOST}/a.html", State.QUEUED.value, 0, 1),
        (2, f"http://{HOST}/b.html", State.QUEUED.value, 0, 1),
    ]
    assert frontier.waiting_items(HOST) == [f"{finder.job_id}:1", f"{finder.job_id}:2"]
    (lease,), _ = frontier.release(60_000, 60_000, 1)
    payload = lease.payload
    assert (payload["found_by"], payload["depth"], payload["languages"]) == (0, 1, ["en"])
    # The finder itself went on to the next stage.
    assert get_redis().llen(queue_keys("dedup")[0]) == 1


def test_a_url_is_new_work_once_per_job(finder: Article, frontier: Frontier) -> None:
    create_job(finder.job_id, [ItemSpec("url", f"http://{HOST}/other.html")])
    other = Article(finder.job_id, 1, url=f"http://{HOST}/other.html")
    url = f"http://{HOST}/shared.html"

    first = admit_found(finder, [NewUrl.found_in(finder, url)])
    same = f"HTTP://{HOST}:80/shared.html#top"
    second = admit_found(other, [NewUrl.found_in(other, same)])

    assert (first.recorded, first.entered, first.known) == (1, 1, 0)
    assert (second.recorded, second.known) == (0, 1)
    assert job_counts(finder.job_id)["submitted"] == 3
    # The finder's task delivered again (cut short before it handed the item on) finds its
    # URL recorded already: no second item, so the page is not fetched twice.
    again = admit_found(finder, [NewUrl.found_in(finder, url)])
    assert (again.recorded, again.known) == (0, 1)
    assert job_counts(finder.job_id)["submitted"] == 3


def test_a_delivery_cut_short_after_the_claim_records_its_urls_on_the_next(
    finder: Article, frontier: Frontier
) -> None:
    url = f"http://{HOST}/claimed-then-cut.html"
    # The first delivery claimed the URL in the seen set, then died before the store had it.
    seen.claim(get_redis(), finder.job_id, finder.item_id, [seen.Claim(url, HOST)])
    again = admit_found(finder, [NewUrl.found_in(finder, url)])
    assert (again.recorded, again.entered) == (1, 1)
    assert [i["source"] for i in list_items(finder.job_id)[1:]] == [url]


def test_two_deliveries_of_one_finder_at_once_record_each_url_once(
    finder: Article, frontier: Frontier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At-least-once delivery can run a finder's task twice at the same time (a message
    restored while a slow worker still holds it): the second waits for the first."""
    urls = [f"http://{HOST}/twice-{n}.html" for n in range(20)]
    recording, real_create = threading.Event(), found_work.create_job

    def slow_create(*args: Any, **kwargs: Any) -> int:
        recording.set()  # the first delivery has claimed its URLs and records them now
        time.sleep(0.5)
        return real_create(*args, **kwargs)

    monkeypatch.setattr(found_work, "create_job", slow_create)
    results: list[FoundWork] = []
    found = [NewUrl.found_in(finder, u) for u in urls]
    first = threading.Thread(target=lambda: results.append(admit_found(finder, found)))
    first.start()
    assert recording.wait(10)
    results.append(admit_found(finder, found))
    first.join(10)

    sources = [i["source"] for i in list_items(finder.job_id)[1:]]
    assert sorted(sources) == sorted(urls)
    assert sorted((r.recorded, r.known) for r in results) == [(0, 20), (20, 0)]


def test_what_does_not_fit_under_the_high_water_mark_waits_in_the_store(
    finder: Article, frontier: Frontier, monkeypatch: pytest.MonkeyPatch
) -> None:
    _high_water(monkeypatch, high=3, low=1)
    enter([arrival_of({"job_id": "other", "item_id": 0, "url": f"http://{HOST}/busy"})])
    urls = [f"http://{HOST}/page-{n}.html" for n in range(4)]

    work = admit_found(finder, [NewUrl.found_in(finder, u) for u in urls])

    assert (work.recorded, work.entered, work.waiting) == (4, 2, 2)
    assert frontier.size() == 3
    states = [i["state"] for i in list_items(finder.job_id)[1:]]
    assert states == ["queued", "queued", "recorded", "recorded"]
    assert job_counts(finder.job_id)["submitted"] == 5

    # Full: everything found now waits, recorded, for `sluice submit --resume`.
    full = admit_found(finder, [NewUrl.found_in(finder, f"http://{HOST}/late.html")])
    assert (full.recorded, full.entered) == (1, 0)
    assert frontier.size() == 3

    # Once there is room, the waiting items are sent with their provenance, kept in the store.
    frontier.clear()
    assert resume_job(finder.job_id).enqueued == 3
    payloads = {lease.payload["url"]: lease.payload for lease in _release_all(frontier)}
    assert sorted(payloads) == sorted([*urls[2:], f"http://{HOST}/late.html"])
    assert {(p["found_by"], p["depth"]) for p in payloads.values()} == {(0, 1)}


def _release_all(frontier: Frontier) -> list[Lease]:
    """Every item of the one host the tests use, leased one after another."""
    leases: list[Lease] = []
    while frontier.size() > len(leases):
        (lease,), _ = frontier.release(60_000, 60_000, 1)
        leases.append(lease)
        frontier.finish(lease.item, lease.token, free_only=True)
    return leases


def test_a_final_outcome_carries_found_work_too(
    finder: Article, frontier: Frontier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page that is not an article (an index) still leads to the pages it links."""

    def extract(article: Article) -> Outcome:
        new = NewUrl.found_in(article, f"http://{HOST}/story.html", priority=9)
        return Final(State.SKIPPED, found=(new,))

    monkeypatch.setattr(running, "body_of", lambda name: extract)
    run_stage(_Task(), finder.to_dict(), "extract")

    items = list_items(finder.job_id)
    assert [i["state"] for i in items] == [State.SKIPPED.value, State.QUEUED.value]
    assert frontier.waiting_items(HOST) == [f"{finder.job_id}:1"]


def test_work_found_for_another_item_is_refused(finder: Article, frontier: Frontier) -> None:
    stranger = Article(finder.job_id, 7, url=f"http://{HOST}/x")
    with pytest.raises(ValueError, match="found by"):
        admit_found(finder, [NewUrl.found_in(stranger, f"http://{HOST}/y")])
    assert job_counts(finder.job_id)["submitted"] == 1


def test_the_door_keeps_an_item_already_inside(frontier: Frontier) -> None:
    payload = {"job_id": "j", "item_id": 3, "url": f"http://{HOST}/p"}
    assert enter([arrival_of(payload, priority=5)]) == 1
    assert enter([arrival_of(payload | {"refetch": True})]) == 0
    assert enter([]) == 0
    (lease,), _ = frontier.release(60_000, 60_000, 1)
    assert lease.item == "j:3" and "refetch" not in lease.payload


@pytest.fixture
def asking_finder() -> Iterator[Article]:
    """Item 0 of a new job submitted with ``--language en --refetch``, kept with the job."""
    job_id = new_job_id()
    url = f"http://{HOST}/index.html"
    create_job(job_id, [ItemSpec("url", url)], options=JobOptions(("en",), refetch=True))
    yield Article(job_id, 0, url=url, languages=["en"], refetch=True)
    get_redis().delete(found_key(job_id))
    seen.forget(get_redis(), job_id)


def test_items_that_waited_in_the_store_carry_their_jobs_languages_and_refetch(
    asking_finder: Article, frontier: Frontier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found work over the high-water mark goes out later, from the store: by the fetch
    workers' sender of waiting work and by ``submit --resume``. Either way its messages
    ask what the job asked of every item, as those of the items sent at once do."""
    _high_water(monkeypatch, high=2, low=1)
    urls = [f"http://{HOST}/kept-{n}.html" for n in range(4)]
    work = admit_found(asking_finder, [NewUrl.found_in(asking_finder, u) for u in urls])
    assert (work.entered, work.waiting) == (2, 2)
    at_once = _release_all(frontier)

    # Room for one: the waiting sender sends the oldest; resume_job sends the other.
    frontier.clear()
    enter([arrival_of({"job_id": "other", "item_id": 0, "url": f"http://{HOST}/busy"})])
    assert send_waiting(get_redis(), asking_finder.job_id) == 1
    by_sender = [lease for lease in _release_all(frontier) if lease.item != "other:0"]
    frontier.clear()
    assert resume_job(asking_finder.job_id).enqueued == 1
    by_resume = _release_all(frontier)

    assert (len(by_sender), len(by_resume)) == (1, 1)
    payloads = {lease.payload["url"]: lease.payload for lease in [*at_once, *by_sender, *by_resume]}
    assert sorted(payloads) == urls
    asked = {(tuple(p["languages"]), p["refetch"]) for p in payloads.values()}
    assert asked == {(("en",), True)}
    assert {i["state"] for i in list_items(asking_finder.job_id)[1:]} == {"queued"}


def test_a_submission_keeps_its_languages_and_refetch_with_a_new_job_only(
    frontier: Frontier,
) -> None:
    """``send`` keeps the door's languages, filters and ``refetch`` with the job it starts,
    even when the first item it records is one the door left out; a job added to keeps its
    own. A site crawl keeps its languages too."""
    door = Door.from_options(domains=[HOST], languages=["EN,de"])
    kept, out = f"http://{HOST}/kept.html", "http://elsewhere.test/out.html"
    intake = take_in(Sources(urls=[out, kept]), door)
    assert [reason for _, reason in intake.left_out] == ["filtered_domain"]

    job_id = send(intake, refetch=True).job_id

    # The URL and date filters too, for the archives a --resume reads on.
    kept_filter = {"domains": [HOST], "url_pattern": None, "since": None, "until": None}
    assert job_options(job_id) == JobOptions(("de", "en"), True, kept_filter)
    send(take_in(Sources(urls=[f"http://{HOST}/more.html"])), job_id)
    assert job_options(job_id) == JobOptions(("de", "en"), True, kept_filter)
    assert job_options(new_job_id()) == JobOptions()

    crawl = submit_crawl(CrawlScope((f"http://{HOST}/",)), languages=["en"])
    assert job_options(crawl) == JobOptions(("en",))
    seen.forget(get_redis(), crawl)
    get_redis().srem(CRAWLS_KEY, crawl)
