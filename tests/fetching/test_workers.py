"""Real fetch workers against a hostile server: every trap ends in its reason code, the good
pages of the same job are stored, the workers stay healthy, and the host budget holds
across two fetch processes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from tests.fetching.hostile import CYRILLIC_TEXT, bomb, cyrillic_page, hostile_routes
from tests.integration.conftest import Store
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.pages import article_page
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

CAP = 1024 * 1024
RATE = 20.0
ALLOWED = "127.0.0.2/32,127.0.0.3/32"  # 127.0.0.1 stands for the operator's own network


@pytest.fixture(scope="module")
def fetch_cluster(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Two fetch workers (64 and 8 threads) and one CPU worker, with small limits."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("fetch-cluster"),
        [
            ("--stages", "fetch", "--concurrency", "64", "--name", "fetch-a"),
            ("--stages", "fetch", "--concurrency", "8", "--name", "fetch-b"),
            ("--stages", "extract,dedup,tag,store", "--concurrency", "1"),
        ],
        {
            "SLUICE_FETCH_ALLOW_NETWORKS": ALLOWED,
            "SLUICE_FETCH_MAX_BYTES": str(CAP),
            "SLUICE_FETCH_CONNECT_TIMEOUT": "1",
            "SLUICE_FETCH_READ_TIMEOUT": "1",
            "SLUICE_FETCH_TOTAL_TIMEOUT": "2",
            "SLUICE_FETCH_MAX_RETRIES": "1",
            "SLUICE_FETCH_RETRY_BACKOFF": "0.2",
            "SLUICE_FETCH_RETRY_BACKOFF_MAX": "1",
            "SLUICE_FETCH_RETRY_AFTER_MAX": "1",
            "SLUICE_FETCH_HOST_RATE": str(RATE),
            "SLUICE_ROBOTS_ERROR_TTL": "1",
        },
        timeout=120,
    ) as cluster:
        yield cluster


@pytest.fixture
def servers() -> Iterator[dict[str, WebServer]]:
    made = {
        "site": WebServer("127.0.0.2"),
        "robots-500": WebServer("127.0.0.2"),
        "robots-silent": WebServer("127.0.0.2"),
        "robots-rules": WebServer("127.0.0.2"),
        "other-host": WebServer("127.0.0.3"),
    }
    yield made
    for server in made.values():
        server.close()


def _submit(cluster: Cluster, *args: str, timeout: float = 150) -> tuple[str, dict]:
    result = cluster.sluice("submit", *args, "--wait", "--timeout", str(timeout))
    assert result.returncode in (0, 1), result.stdout + result.stderr + cluster.logs()
    job_id = result.stdout.split()[0]
    status = json.loads(cluster.sluice("status", job_id, "--json").stdout)
    return job_id, status


def _peak_rss_mib(pid: int) -> float:
    """The highest resident memory a process has had (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_every_trap_ends_in_its_reason_and_nothing_else_is_lost(
    fetch_cluster: Cluster, servers: dict[str, WebServer], web: WebServer
) -> None:
    for encoding in ("gzip", "br", "zstd"):
        bomb(encoding)  # made now, not while a worker waits for it
    site = servers["site"]
    prefix = f"/{uuid.uuid4().hex[:8]}"
    web.route(f"{prefix}/private", Response(body=b"<p>the operator's own network</p>"))
    expected = hostile_routes(site, prefix, cap=CAP, loopback_target=web.url(f"{prefix}/private"))

    servers["robots-500"].route("/robots.txt", Response(500, b"", content_type="text/plain"))

    def silent(_handler) -> Response:  # type: ignore[no-untyped-def]
        time.sleep(3)
        return Response(404, b"")

    servers["robots-silent"].route("/robots.txt", silent)
    servers["robots-rules"].route(
        "/robots.txt", Response(body=b"User-agent: *\nDisallow: /private/\n")
    )
    for name in ("robots-500", "robots-silent", "robots-rules"):
        path = "/private/a.html" if name == "robots-rules" else "/a.html"
        url = servers[name].route(path, Response(body=article_page(name)))
        expected[name] = (url, "robots_disallowed")
    expected["cp1251"] = (
        site.route(
            f"{prefix}/ru.html", Response(body=cyrillic_page("none"), content_type="text/html")
        ),
        "stored",
    )
    flaky_page = article_page("flaky")
    answers = iter([Response(503, b"", headers={"Retry-After": "0"})])

    def flaky(_handler) -> Response:  # type: ignore[no-untyped-def]
        return next(answers, Response(body=flaky_page))

    expected["flaky"] = (site.route(f"{prefix}/flaky.html", flaky), "stored")  # retried
    for n in range(3):
        url = site.route(f"{prefix}/good-{n}.html", Response(body=article_page(f"good {n}")))
        expected[f"good-{n}"] = (url, "stored")
    expected["other-host"] = (
        servers["other-host"].route("/fine.html", Response(body=article_page("other"))),
        "stored",
    )

    names = list(expected)
    peaks_before = [_peak_rss_mib(p.pid) for p in fetch_cluster.processes[:2]]
    job_id, status = _submit(fetch_cluster, *(expected[n][0] for n in names))

    assert status["pending"] == 0 and status["missing"] == 0, status
    items = Store(fetch_cluster.database_url).items(job_id)
    outcome = {
        names[item["item_id"]]: item["reason"] if item["state"] == "failed" else item["state"]
        for item in items
    }
    assert outcome == {name: reason for name, (_, reason) in expected.items()}, (
        outcome,
        fetch_cluster.logs(),
    )
    assert f"{prefix}/private" not in web.hits  # never reached, directly or by redirect
    ru = next(i for i in items if names[i["item_id"]] == "cp1251")
    assert CYRILLIC_TEXT[:80] in Store(fetch_cluster.database_url).article(ru["article_id"])["text"]

    # Three 256 MiB bombs went through the fetch workers; their memory hardly moved.
    for process, before in zip(fetch_cluster.processes[:2], peaks_before, strict=True):
        assert _peak_rss_mib(process.pid) - before < 64
    # The workers are alive and still fetch.
    assert all(p.poll() is None for p in fetch_cluster.processes)
    after = site.route(f"{prefix}/after.html", Response(body=article_page("after")))
    _, status = _submit(fetch_cluster, after)
    assert status["states"] == {"stored": 1}


def test_the_fetch_worker_runs_64_threads(fetch_cluster: Cluster) -> None:
    app = Celery(broker=fetch_cluster.redis_url)
    try:
        stats = app.control.inspect(timeout=2.0).stats() or {}
    finally:
        app.close()
    fetchers = {name: s["pool"] for name, s in stats.items() if name.startswith("fetch-a")}
    assert fetchers, stats.keys()
    (pool,) = fetchers.values()
    assert pool["max-concurrency"] == 64
    assert "thread" in pool["implementation"]


def test_the_host_budget_holds_across_two_fetch_processes(
    fetch_cluster: Cluster, servers: dict[str, WebServer]
) -> None:
    site = servers["other-host"]
    prefix = f"/{uuid.uuid4().hex[:8]}"
    seen: list[float] = []

    def page(_handler) -> Response:  # type: ignore[no-untyped-def]
        seen.append(time.monotonic())
        return Response(body=article_page("budget"))

    urls = [site.route(f"{prefix}/{n}.html", page) for n in range(40)]
    _, status = _submit(fetch_cluster, *urls)
    assert status["final"] == 40, status
    robots = [h for h in site.hits if h == "/robots.txt"]
    assert len(robots) <= 1  # cached for the cluster (maybe fetched by the previous test)
    seen.sort()
    busiest = max(sum(1 for t in seen if start <= t < start + 1) for start in seen)
    assert busiest <= RATE
    assert seen[-1] - seen[0] >= (len(seen) - 1) / RATE * 0.95


def test_refetch_sends_validators_and_ends_unchanged(
    fetch_cluster: Cluster, servers: dict[str, WebServer]
) -> None:
    site = servers["site"]
    prefix = f"/{uuid.uuid4().hex[:8]}"
    requests: list[str | None] = []
    body = article_page("validators")

    def page(handler) -> Response:  # type: ignore[no-untyped-def]
        requests.append(handler.headers.get("If-None-Match"))
        if handler.headers.get("If-None-Match") == '"v7"':
            return Response(304, b"")
        return Response(body=body, headers={"ETag": '"v7"'})

    url = site.route(f"{prefix}/a.html", page)
    first, status = _submit(fetch_cluster, url)
    assert status["states"] == {"stored": 1}
    # The same URL spelled differently, without --refetch: a duplicate, and no request.
    variant = url.replace("http://", "HTTP://") + "?utm_source=feed#top"
    _, status = _submit(fetch_cluster, url, variant)
    assert status["states"] == {"duplicate": 2}
    assert requests == [None]
    # --refetch asks again, conditionally, and ends unchanged.
    job_id, status = _submit(fetch_cluster, "--refetch", url)
    assert status["states"] == {"unchanged": 1}
    assert requests == [None, '"v7"']
    (item,) = Store(fetch_cluster.database_url).items(job_id)
    assert item["article_id"] == Store(fetch_cluster.database_url).items(first)[0]["article_id"]
