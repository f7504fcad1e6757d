"""The crawl benchmarks' own logic: what they read from the CLI and Redis, and their targets."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.crawl_run import _family, job_id_of
from benchmarks.site_crawl import _seen_size, checks, submit_args
from tests.support.news_site import NewsSite


def test_the_job_id_is_read_from_plain_or_json_output() -> None:
    assert job_id_of("3f2a9c1b7d4e\n") == "3f2a9c1b7d4e"
    assert job_id_of('{"job": "abc123def456", "recorded": 1}\n') == "abc123def456"
    with pytest.raises(RuntimeError):
        job_id_of("sluice: error: unrecognized arguments\n")


def test_keys_are_grouped_by_family_without_job_ids_or_buckets() -> None:
    assert _family("sluice:seen:3f2a9c1b7d4e:17") == "sluice:seen"
    assert _family("sluice:claims:04a4") == "sluice:claims"
    assert _family("sluice:seen:3f2a9c1b7d4e:caps") == "sluice:seen:3f2a9c1b7d4e:caps"
    assert _family("sluice:bands") == "sluice:bands"


def test_the_seen_set_size_is_the_crawl_s_own_count() -> None:
    assert _seen_size({"crawl": {"seen_urls": 512, "pages_fetched": 300}}) == 512
    assert _seen_size({"other": [{"seen": 7}]}) == 7
    assert _seen_size({"states": {"stored": 3}}) is None


def test_targets_are_the_issue_s() -> None:
    met = {
        "fetches_per_in_scope_url": 1.02,
        "out_of_scope_requests": 0,
        "elapsed_over_ideal": 1.1,
    }
    assert all(checks(met).values())
    assert checks(met | {"fetches_per_in_scope_url": 1.021}) == {
        "fetches_per_url": False,
        "out_of_scope": True,
        "elapsed": True,
    }
    assert not checks(met | {"out_of_scope_requests": 1})["out_of_scope"]
    assert not checks(met | {"elapsed_over_ideal": None})["elapsed"]


def test_the_crawl_is_submitted_from_the_front_page_in_host_scope() -> None:
    args = argparse.Namespace(depth=5, max_pages=None, pages=300)
    with NewsSite(30) as site:
        command = submit_args(args, site)
    assert command[:3] == ["submit", "--crawl", site.url("/")]
    assert command[3:] == ["--scope", "host", "--depth", "5", "--max-pages", "600"]
