"""A site crawl from its front page, on real workers, against the generated news site's
truth: every in-scope page fetched once, its articles stored and its hubs followed, nothing
fetched out of scope or disallowed by robots.txt, the calendar trap cut at its pattern cap,
limits counted, and the crawl's figures in ``sluice status``."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.crawl.conftest import CALENDAR_CAP, IN_FLIGHT, CrawlRun, truth_of, whole_crawl
from tests.support.news_site import ARTICLE, DISALLOWED, FRONT_STORIES, HUB, TRAP

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

WAITED = re.compile(r"\(\d+ in the frontier, [1-9]\d* waiting\)")


def test_a_site_is_crawled_each_page_once(crawl_run: CrawlRun) -> None:
    crawl_run.start_all()
    crawl_run.crawl()
    states = crawl_run.wait_done()
    site = crawl_run.site
    articles, hubs = truth_of(site, ARTICLE), truth_of(site, HUB)

    assert states == whole_crawl(site), states
    assert crawl_run.fetched_twice() == {}
    assert crawl_run.fetched(ARTICLE) == articles
    assert crawl_run.fetched(HUB) == hubs
    assert len(crawl_run.fetched(TRAP)) == CALENDAR_CAP
    assert len(site.fetches()) == len(articles) + len(hubs) + CALENDAR_CAP
    # Out of scope, or disallowed by robots.txt: never requested.
    assert site.partner_requests() == 0
    assert crawl_run.fetched(DISALLOWED) == set()

    assert crawl_run.sources("stored") == articles
    assert crawl_run.sources("followed") == hubs | crawl_run.fetched(TRAP)
    skipped = [i for i in crawl_run.items() if i["state"] == "skipped"]
    assert {i["reason"] for i in skipped} == {"robots_disallowed"}
    assert all("/account/login?next=" in i["source"] for i in skipped)

    crawl = crawl_run.status()["crawl"]
    pages = len(articles) + len(hubs) + CALENDAR_CAP
    assert crawl["pages_fetched"] == pages
    assert (crawl["articles_stored"], crawl["hubs_followed"]) == (
        len(articles),
        len(hubs) + CALENDAR_CAP,
    )
    assert crawl["seen_urls"] == pages + CALENDAR_CAP  # and the sign-in links admitted
    # The front page links both partner hosts; one story in 7 links the first, one in 11
    # the second.
    partner_links = 2 + sum((s.id % 7 == 0) + (s.id % 11 == 0) for s in site.map.stories)
    assert crawl["links_out_of_scope"] == partner_links
    assert crawl["links_dropped"]["pattern_cap"] > 0
    assert crawl["links_dropped"]["robots_disallowed"] == CALENDAR_CAP
    assert crawl["links_discovered"] > crawl["links_followed"] > pages
    assert crawl["waiting_in_store"] == 0


def test_a_crawl_whose_only_failures_are_disallowed_links_waits_with_success(
    crawl_run: CrawlRun,
) -> None:
    """``submit --crawl --wait`` exits 0: robots.txt-disallowed links the crawl found end
    skipped, not failed."""
    crawl_run.start_all()
    result = crawl_run.cluster.sluice(
        "submit",
        "--crawl",
        crawl_run.site.url("/"),
        "--depth",
        "1",
        "--wait",
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    crawl_run.job_id = result.stdout.split()[0]
    assert crawl_run.states().get("skipped") == 1  # the front page's sign-in link
    assert "failed" not in crawl_run.states()


def test_a_submitted_url_robots_txt_disallows_still_fails(crawl_run: CrawlRun) -> None:
    crawl_run.start_all()
    url = crawl_run.site.url("/account/login")
    result = crawl_run.cluster.sluice("submit", url, "--wait", timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    crawl_run.job_id = result.stdout.split()[0]
    (item,) = crawl_run.items()
    assert (item["state"], item["reason"]) == ("failed", "robots_disallowed")


def test_depth_and_max_pages_bound_a_crawl(crawl_run: CrawlRun) -> None:
    crawl_run.start_all()
    crawl_run.crawl("--depth", "1")
    states = crawl_run.wait_done()
    site = crawl_run.site
    # The front page and what it links to in scope: its sections, topics and latest stories,
    # the archive's day and the sign-in link (robots.txt: skipped).
    hubs_linked = 1 + len(site.map.sections) + len(site.map.tags) + 1
    expected = {"followed": hubs_linked, "stored": FRONT_STORIES, "skipped": 1}
    assert states == expected, states
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
    assert states == whole_crawl(crawl_run.site), states
    assert crawl_run.fetched_twice() == {}
    # Links are read where the page is fetched: the fetch worker records what waits.
    fetch_log = crawl_run.cluster.log_of(crawl_run.workers["fetch"])  # type: ignore[arg-type]
    assert WAITED.search(fetch_log), "nothing ever waited in the store"


def test_an_interrupted_crawl_is_finished_by_resume(crawl_run: CrawlRun) -> None:
    """The fetch worker (which sends what waits) is killed while found URLs wait in the
    store; ``submit --resume`` sends them, and new workers finish the crawl. Only the killed
    worker's requests in flight are made twice. The pipeline worker is stopped (SIGTERM: it
    finishes its pages) before the resume, so that no page read meanwhile adds waiting URLs
    after it."""
    crawl_run.cluster.env.update(SLUICE_QUEUE_HIGH_WATER="4", SLUICE_QUEUE_LOW_WATER="2")
    crawl_run.start_all()
    crawl_run.crawl()
    deadline = time.monotonic() + 120
    while crawl_run.states().get("recorded", 0) < 20:
        crawl_run.cluster.check_alive()
        assert time.monotonic() < deadline, crawl_run.states()
        time.sleep(0.1)
    crawl_run.kill("fetch")
    crawl_run.terminate("cpu")
    waiting = crawl_run.states().get("recorded", 0)
    # No fetch worker drains the queues now: this --resume sends without a high-water mark.
    env = {**crawl_run.cluster.env, "SLUICE_QUEUE_HIGH_WATER": "0"}
    resumed = crawl_run.cluster.run_with(env, "submit", "--resume", crawl_run.job_id, "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["enqueued"] >= waiting
    assert crawl_run.states().get("recorded", 0) == 0
    crawl_run.start_all()
    states = crawl_run.wait_done(timeout=360)
    assert states == whole_crawl(crawl_run.site), states
    twice = crawl_run.fetched_twice()
    assert set(twice.values()) <= {2} and len(twice) <= IN_FLIGHT, twice
