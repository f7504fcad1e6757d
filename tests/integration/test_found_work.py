"""Work a stage creates, on real workers: two pages each find the same two URLs (and a
fragment of one, and a URL that cannot be fetched); each new URL becomes one item of the
job, is fetched once and stored once, and the job's totals count it.

The finding is test-only (``tests/support/finding``: extract's outcome carries the URLs);
the runner, the frontier's door, the pump, the fetch and every stage after it are real.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from sluice.shared.db.schema import articles, jobs
from tests.integration.conftest import Store
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider
from tests.support.warcs import article_html
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

FINDING = Path(__file__).resolve().parents[1] / "support" / "finding"


@pytest.fixture(scope="module")
def finding_cluster(
    redis_provider: RedisProvider, sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    redis_url = redis_provider.acquire()
    cluster = Cluster(redis_url, sqlite_url, tmp_path_factory.mktemp("finding"))
    cluster.start_worker(
        env={
            "PYTHONPATH": str(FINDING),
            "SLUICE_TEST_FOUND_URLS": "../a.html ../b.html ../a.html#more mailto:desk@x.test",
        }
    )
    try:
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.stop()
        redis_provider.release(redis_url)


def test_urls_a_stage_finds_are_fetched_and_stored_once_each(
    finding_cluster: Cluster, sqlite_url: str, web: WebServer
) -> None:
    prefix = f"/{uuid.uuid4().hex[:8]}"
    pages = {
        name: web.route(f"{prefix}/{name}", Response(body=article_html(n).encode()))
        for n, name in enumerate(("finds/index.html", "finds/other.html", "a.html", "b.html"))
    }
    submitted = [pages["finds/index.html"], pages["finds/other.html"]]
    result = finding_cluster.sluice("submit", *submitted, "--wait", "--timeout", "120")
    assert result.returncode == 0, result.stderr + finding_cluster.logs()
    job = result.stdout.split()[0]

    items = Store(sqlite_url).items(job)
    assert sorted(i["source"] for i in items) == sorted(pages.values())
    assert {i["state"] for i in items} == {"stored"}, items
    assert [web.hits.count(f"{prefix}/{name}") for name in ("a.html", "b.html")] == [1, 1]
    with Store(sqlite_url).engine.connect() as conn:
        urls = conn.execute(select(articles.c.url).where(articles.c.job_id == job)).scalars()
        assert sorted(urls) == sorted(pages.values())
        total = conn.execute(select(jobs.c.total).where(jobs.c.id == job)).scalar()
    assert total == 4  # the job's totals count the work its stages created

    # One finder made the two new items; the other found them known. Neither kept the
    # fragment (the same page) or the mailto: URL.
    logs = finding_cluster.log_of(finding_cluster.processes[0])
    assert logs.count("extract found 4 URLs: 2 new items (2 in the frontier, 0 waiting)") == 1, logs
    assert logs.count("0 new items (0 in the frontier, 0 waiting), 2 known, 1 invalid") == 1
