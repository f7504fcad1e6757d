"""The multi-machine rehearsal: one cluster spread over three simulated machines, and two
misconfigured machines it refuses.

Machine m1 runs the fetch workers, m2 the CPU stages, m3 the producer CLI; each has its own
``HOME``, ``TMPDIR`` and working directory, node names of its own, and no file in common
with another. Redis listens on 127.0.0.5 only (a server this test starts, with a password),
PostgreSQL is reached at 127.0.0.6 (the tests' server listens on 127.0.0.1 only, so through
a forwarder in this process, :mod:`tests.support.forwarder`), and the web pages, the feed
and the WARC archive come from 127.0.0.7.

A machine started without ``SLUICE_DATABASE_URL`` (so on a SQLite file under its own home)
and one without ``SLUICE_REDIS_URL`` (so on ``redis://127.0.0.1:6379/0``, the default) are
refused: their workers and commands stop with exit status 10 and one line naming both
URLs, passwords masked, and nothing of theirs reaches the cluster's store.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine, make_url

from sluice.shared.broker_url import mask_url
from sluice.shared.cluster_id import EXIT_CLUSTER
from sluice.shared.db.schema import articles, items, jobs
from sluice.shared.embedded_redis import redis_answers
from sluice.shared.settings import DEFAULT_REDIS_URL
from tests.support.cluster import served_queues
from tests.support.feeds import rss
from tests.support.forwarder import Forwarder
from tests.support.machines import Machine
from tests.support.pages import article_page
from tests.support.services import postgres_database, redis_server
from tests.support.warcs import record, warc_bytes
from tests.support.web import Response, WebServer

pytestmark = [pytest.mark.integration, pytest.mark.postgres, pytest.mark.timeout(300)]

REDIS_HOST, STORE_HOST, WEB_HOST = "127.0.0.5", "127.0.0.6", "127.0.0.7"
REDIS_PASSWORD, STORE_PASSWORD = "redis-secret-5", "store-secret-6"

CPU_STAGES = "extract,dedup,tag,store"

# Every machine of the cluster is configured alike, but for the two services' addresses.
SETTINGS = {
    "SLUICE_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",  # the web server is on loopback
    "SLUICE_FETCH_HOST_RATE": "0",  # one host serves everything: no politeness wait
    "SLUICE_FEED_INTERVAL": "1",
    "SLUICE_FEED_MIN_INTERVAL": "1",
    "SLUICE_FEED_MAX_INTERVAL": "2",
}


class Site:
    """What 127.0.0.7 serves: one article, a feed of two more, and a WARC of two more."""

    def __init__(self, web: WebServer) -> None:
        prefix = f"/{uuid.uuid4().hex[:8]}"
        self.page = web.route(f"{prefix}/story.html", Response(body=article_page("story")))
        self.entries = []
        for slug in ("feed-a", "feed-b"):
            self.entries.append(
                web.route(f"{prefix}/{slug}.html", Response(body=article_page(slug)))
            )
        date = "Tue, 01 Dec 2026 12:00:00 GMT"
        feed = rss([(url, date) for url in self.entries])
        self.feed = web.route(
            f"{prefix}/feed.xml", Response(body=feed, content_type="application/rss+xml")
        )
        self.archived = [f"https://archive.test/{prefix}/warc-{n}.html" for n in ("a", "b")]
        archive = warc_bytes(
            record(
                url, article_page(url.rsplit("/", 1)[-1]), record_id=f"<urn:uuid:{uuid.uuid4()}>"
            )
            for url in self.archived
        )
        self.warc = web.route(
            f"{prefix}/crawl.warc.gz", Response(body=archive, content_type="application/warc")
        )

    @property
    def articles(self) -> set[str]:
        """The URL of every article the rehearsal stores."""
        return {self.page, *self.entries, *self.archived}


@pytest.fixture
def admin_url() -> str:
    url = os.environ.get("SLUICE_TEST_DATABASE_URL")
    if not url:
        pytest.skip("SLUICE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    return url


def _through(url: str, forwarder: Forwarder, password: str) -> str:
    """``url`` at the forwarder's address, with ``password`` (ignored by trust auth)."""
    moved = make_url(url).set(host=forwarder.host, port=forwarder.port, password=password)
    return moved.render_as_string(hide_password=False)


def _until(check: Callable[[], Any], what: str, machines: list[Machine], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.3)
    logs = "\n".join(machine.logs() for machine in machines)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def _json(machine: Machine, *args: str) -> Any:
    done = machine.sluice(*args, "--json")
    assert done.returncode == 0, f"{machine.name}: sluice {args}\n{done.stdout}{done.stderr}"
    return json.loads(done.stdout)


def _refusal(output: str) -> str:
    """The one line of ``output`` that is sluice's refusal (Celery may print before it)."""
    lines = [line for line in output.splitlines() if line.startswith("sluice ")]
    assert len(lines) == 1, output
    assert "Traceback" not in output, output
    return lines[0]


def _without(settings: dict[str, str], name: str) -> dict[str, str]:
    return {key: value for key, value in settings.items() if key != name}


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _states(engine: Engine, job: str) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(items.c.state, func.count()).where(items.c.job_id == job).group_by("state")
        )
        return {state: int(n) for state, n in rows}


@pytest.fixture
def second_local_redis(tmp_path: Path) -> Iterator[str]:
    """What a machine without ``SLUICE_REDIS_URL`` talks to: the Redis that answers at the
    default address, started here when none does (read, never written, by this test)."""
    if redis_answers(DEFAULT_REDIS_URL):
        yield DEFAULT_REDIS_URL
        return
    default = urlsplit(DEFAULT_REDIS_URL)
    with redis_server(str(default.hostname), tmp_path / "local-redis", port=default.port) as url:
        yield url


def test_three_machines_share_one_cluster_and_two_misconfigured_ones_are_refused(
    admin_url: str, second_local_redis: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        redis_url = stack.enter_context(
            redis_server(REDIS_HOST, tmp_path / "redis", password=REDIS_PASSWORD)
        )
        local_store = stack.enter_context(postgres_database(admin_url))
        parts = make_url(local_store)
        forwarder = Forwarder(STORE_HOST, (str(parts.host), int(parts.port or 5432)))
        stack.callback(forwarder.close)
        store_url = _through(local_store, forwarder, STORE_PASSWORD)
        engine = create_engine(store_url)
        stack.callback(engine.dispose)
        web = WebServer(WEB_HOST)
        stack.callback(web.close)
        site = Site(web)

        cluster = {"SLUICE_REDIS_URL": redis_url, "SLUICE_DATABASE_URL": store_url, **SETTINGS}
        fetch, cpu, producer = (Machine(name, tmp_path, cluster) for name in ("m1", "m2", "m3"))
        # m4 was left on the default store, m5 on the default Redis (which other test runs
        # may use too: m5's node name is this run's alone).
        m4 = Machine("m4", tmp_path, _without(cluster, "SLUICE_DATABASE_URL"))
        m5 = Machine("m5", tmp_path, _without(cluster, "SLUICE_REDIS_URL"))
        machines = [fetch, cpu, producer, m4, m5]
        for machine in machines:
            stack.callback(machine.stop)

        # The explicit step that makes the cluster: a new id in Redis and in the store.
        bound = producer.sluice("db", "upgrade")
        assert bound.returncode == 0, bound.stdout + bound.stderr
        assert "new cluster" in bound.stdout

        # Every machine's workers start at once: the cluster's serve, the others are refused.
        fetch.celery_worker("fetch", "fetch@m1", "threads", 4)
        cpu.celery_worker(CPU_STAGES, "cpu@m2", "prefork", 1)
        m4_store = f"sqlite:///{m4.home / '.local' / 'share' / 'sluice' / 'sluice.db'}"
        m5_node = f"fetch@m5-{uuid.uuid4().hex[:8]}"
        refused = {
            m4: (m4.celery_worker(CPU_STAGES, "cpu@m4", "prefork", 1), redis_url, m4_store),
            m5: (m5.celery_worker("fetch", m5_node, "threads", 4), second_local_redis, store_url),
        }
        nodes = {"fetch@m1": {"fetch"}, "cpu@m2": set(CPU_STAGES.split(","))}
        _until(lambda: served_queues(redis_url) == nodes, "m1's and m2's workers", machines, 90)
        for machine, (worker, redis_at, store_at) in refused.items():
            assert _exit_status(machine, worker) == EXIT_CLUSTER, machine.logs()
            line = _refusal(machine.log_of(worker))
            _assert_refused(line, "sluice worker: ", redis_at, store_at)

        # The producer's three jobs, side by side: one URL, one feed (polled by m1's
        # scheduler), one WARC (which the producer reads from the web server).
        with ThreadPoolExecutor(3) as pool:
            url_run = pool.submit(_json, producer, "submit", site.page, "--wait", "--timeout", "60")
            feed_run = pool.submit(_json, producer, "feeds", "add", site.feed)
            warc_run = pool.submit(
                _json, producer, "submit", "--warc", site.warc, "--wait", "--timeout", "60"
            )
        url_job, warc_job = url_run.result(), warc_run.result()
        feed = feed_run.result()["registered"][0]
        assert url_job["states"] == {"stored": 1}, url_job
        assert warc_job["states"] == {"stored": 2}, warc_job
        _until(
            lambda: _states(engine, feed["job"]) == {"stored": 2},
            "the feed's two entries stored",
            machines,
            60,
        )

        # What PostgreSQL holds: every article, each in its job.
        with engine.connect() as conn:
            stored = dict(conn.execute(select(articles.c.url, articles.c.job_id)).all())
        assert set(stored) == site.articles
        assert stored[site.page] == url_job["job"]
        assert {stored[url] for url in site.entries} == {feed["job"]}
        assert {stored[url] for url in site.archived} == {warc_job["job"]}

        # The export, written on the producer's machine, has every article of the cluster;
        # the producer's `status` counts the other machines' workers; and the misconfigured
        # machines' commands are refused as their workers were.
        out = producer.tmp / "articles.jsonl"
        with ThreadPoolExecutor(4) as pool:
            export_run = pool.submit(producer.sluice, "export", "--output", str(out))
            status_run = pool.submit(_json, producer, "status")
            submits = {m: pool.submit(m.sluice, "submit", site.page) for m in refused}
        exported = export_run.result()
        assert exported.returncode == 0, exported.stdout + exported.stderr
        assert {json.loads(line)["url"] for line in out.read_text().splitlines()} == site.articles
        stages = status_run.result()["pipeline"]["stages"]
        assert (stages["fetch"]["workers"], stages["fetch"]["slots"]) == (1, 4), stages
        assert all(stages[stage]["workers"] == 1 for stage in CPU_STAGES.split(",")), stages
        for machine, (_, redis_at, store_at) in refused.items():
            submitted = submits[machine].result()
            assert submitted.returncode == EXIT_CLUSTER, submitted.stdout + submitted.stderr
            _assert_refused(_refusal(submitted.stderr), "sluice submit: ", redis_at, store_at)

        # Nothing of the refused machines reached PostgreSQL (three jobs, five articles), and
        # no machine of the cluster made a store of its own.
        assert (_count(engine, jobs), _count(engine, articles)) == (3, len(site.articles))
        assert [path for m in (fetch, cpu, producer) for path in m.files("*.db")] == []


def _exit_status(machine: Machine, worker: subprocess.Popen[bytes], timeout: float = 90) -> int:
    """How ``worker`` exited; fails at once should it come up instead (m5's would then be
    serving the machine's default Redis, which is not this test's to fill)."""
    deadline = time.monotonic() + timeout
    while (status := worker.poll()) is None:
        ready = " ready." in machine.log_of(worker)
        if ready or time.monotonic() > deadline:
            machine.stop()
            raise AssertionError(f"{machine.name}'s worker was not refused\n{machine.logs()}")
        time.sleep(0.2)
    return status


def _assert_refused(line: str, prefix: str, redis_url: str, store_url: str) -> None:
    """``line`` is a refusal naming both URLs, their passwords masked."""
    assert line.startswith(prefix), line
    assert f"Redis at {mask_url(redis_url)}" in line, line
    assert f"the store at {mask_url(store_url)}" in line, line
    assert REDIS_PASSWORD not in line and STORE_PASSWORD not in line, line
