"""A site crawl from its front page, on real workers: every in-scope page fetched once,
articles stored, hubs followed, nothing fetched out of scope, the calendar trap cut at its
pattern cap, limits counted, and the crawl's figures in ``sluice status``."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.crawl.conftest import CALENDAR_CAP, IN_FLIGHT, CrawlRun

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

# Front page, 16 section pages, 160 articles and the calendar's first CALENDAR_CAP months.
PAGES = 1 + 16 + 160 + CALENDAR_CAP
WHOLE = {"stored": 160, "followed": 1 + 16 + CALENDAR_CAP, "skipped": 1}
WAITED = re.compile(r"\(\d+ in the frontier, [1-9]\d* waiting\)")


def test_a_site_is_crawled_each_page_once(crawl_run: CrawlRun) -> None:
    crawl_run.start_all()
    crawl_run.crawl()
    states = crawl_run.wait_done()
    site = crawl_run.site

    assert states == WHOLE, states  # skipped: /moved.html
    assert crawl_run.fetched_twice() == {}
    assert len(site.fetches()) == PAGES + 1
    assert site.other.hits == []  # out of scope: never requested, not even by a redirect
    (moved,) = [i for i in crawl_run.items() if i["state"] == "skipped"]
    assert (moved["source"], moved["reason"]) == (
        site.site.url("/moved.html"),
        "redirect_out_of_scope",
    )
    assert site.calendar_fetches() == CALENDAR_CAP
    stored = {i["source"] for i in crawl_run.items() if i["state"] == "stored"}
    assert stored == set(site.articles)

    crawl = crawl_run.status()["crawl"]
    assert crawl["pages_fetched"] == PAGES
    assert (crawl["articles_stored"], crawl["hubs_followed"]) == (160, 1 + 16 + CALENDAR_CAP)
    assert crawl["seen_urls"] == PAGES + 1
    # Each article links out of scope once, and the front page once.
    assert crawl["links_out_of_scope"] == 160 + 1
    assert crawl["links_dropped"]["pattern_cap"] > 0
    assert crawl["links_discovered"] > crawl["links_followed"] > PAGES
    assert crawl["waiting_in_store"] == 0


def test_depth_and_max_pages_bound_a_crawl(crawl_run: CrawlRun) -> None:
    crawl_run.start_all()
    crawl_run.crawl("--depth", "1")
    states = crawl_run.wait_done()
    # The front page and what it links to in scope: 4 sections, the first month, and the
    # page that redirects out of scope.
    assert states == {"followed": 6, "skipped": 1}, states
    assert crawl_run.status()["crawl"]["links_dropped"]["depth_limit"] > 0

    crawl_run.crawl("--max-pages", "30")
    states = crawl_run.wait_done()
    assert sum(states.values()) == 30, states
    crawl = crawl_run.status()["crawl"]
    assert crawl["seen_urls"] == 30 and crawl["links_dropped"]["max_pages"] > 0


def test_found_work_over_the_high_water_mark_waits_then_goes_by_itself(
    crawl_run: CrawlRun,
) -> None:
    """With room for a handful of fetches, most found URLs wait in the store; the fetch
    worker sends them as the queues drain, and no --resume is needed."""
    crawl_run.cluster.env.update(SLUICE_QUEUE_HIGH_WATER="4", SLUICE_QUEUE_LOW_WATER="2")
    crawl_run.start_all()
    crawl_run.crawl()
    states = crawl_run.wait_done(timeout=360)
    assert states == WHOLE, states
    assert crawl_run.fetched_twice() == {}
    extract_log = crawl_run.cluster.log_of(crawl_run.workers["cpu"])  # type: ignore[arg-type]
    assert WAITED.search(extract_log), "nothing ever waited in the store"


def test_an_interrupted_crawl_is_finished_by_resume(crawl_run: CrawlRun) -> None:
    """The fetch worker (which sends what waits) is killed while found URLs wait in the
    store; ``submit --resume`` sends them, and a new fetch worker finishes the crawl. Only
    the killed worker's requests in flight are made twice."""
    crawl_run.cluster.env.update(SLUICE_QUEUE_HIGH_WATER="4", SLUICE_QUEUE_LOW_WATER="2")
    crawl_run.start_all()
    crawl_run.crawl()
    deadline = time.monotonic() + 120
    while crawl_run.states().get("recorded", 0) < 20:
        crawl_run.cluster.check_alive()
        assert time.monotonic() < deadline, crawl_run.states()
        time.sleep(0.1)
    crawl_run.kill("fetch")
    waiting = crawl_run.states().get("recorded", 0)
    # No fetch worker drains the queues now: this --resume sends without a high-water mark.
    env = {**crawl_run.cluster.env, "SLUICE_QUEUE_HIGH_WATER": "0"}
    resumed = crawl_run.cluster.run_with(env, "submit", "--resume", crawl_run.job_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["enqueued"] >= waiting
    assert crawl_run.states().get("recorded", 0) == 0
    crawl_run.start("fetch")
    states = crawl_run.wait_done(timeout=360)
    assert states == WHOLE, states
    twice = crawl_run.fetched_twice()
    assert set(twice.values()) <= {2} and len(twice) <= IN_FLIGHT, twice
