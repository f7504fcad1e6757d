"""Submission under backpressure, with real processes: a producer out of ``--timeout`` or
killed while it waits for room, then resumed by workers.

The producers send to the session's Redis, where no worker consumes: with a high-water
mark of 2, two URLs fill the crawl frontier and every producer after them waits. The
resumed job is sent to the session's workers instead (another Redis, the same store).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sluice.shared.jobs import job_counts
from sluice.shared.queues import queue_keys
from sluice.workers.pipeline import STAGES
from tests.integration.conftest import sample_page
from tests.support.cluster import Cluster, run_sluice
from tests.support.web import Response, WebServer


def _empty(client: redis.Redis) -> None:
    for stage in STAGES:
        client.delete(*queue_keys(stage))
    for key in client.scan_iter("sluice:*", count=1000):
        client.delete(key)


@pytest.fixture
def full_queues(redis_url: str) -> Iterator[str]:
    """The session's Redis, emptied before and after: nothing consumes its queues."""
    client = redis.Redis.from_url(redis_url)
    _empty(client)
    yield redis_url
    _empty(client)
    client.close()


@pytest.mark.parametrize("cluster", ["sqlite"], indirect=True)
def test_a_producer_out_of_time_or_killed_while_waiting_is_resumed(
    workers: Cluster, full_queues: str, web: WebServer, tmp_path: Path
) -> None:
    producer_env = {
        **workers.env,
        "SLUICE_REDIS_URL": full_queues,
        "SLUICE_QUEUE_HIGH_WATER": "2",
        "SLUICE_QUEUE_LOW_WATER": "1",
        "SLUICE_QUEUE_POLL_SECONDS": "0.05",
    }
    prefix = f"/{time.monotonic_ns()}"
    first = [web.url(f"{prefix}/first/{n}.html") for n in range(3)]

    # 1. Out of time: two URLs fill the frontier, the third waits until --timeout.
    started = time.monotonic()
    timed_out = run_sluice(producer_env, "submit", *first, "--wait", "--timeout", "3")
    assert timed_out.returncode == 3, timed_out.stderr
    assert time.monotonic() - started < 60
    job_a = timed_out.stdout.strip()  # printed once recorded, before anything was sent
    assert job_a and "\n" not in job_a
    assert "no room in the queues within --timeout 3 s" in timed_out.stderr
    assert f"1 items recorded but not enqueued: send them with sluice submit --resume {job_a}" in (
        timed_out.stderr.replace("\n", " ")
    )
    assert job_counts(job_a)["states"] == {"queued": 2, "recorded": 1}
    # With --json: the job id as a JSON line on stderr first, the error as the last one.
    as_json = run_sluice(producer_env, "submit", first[0], "--json", "--timeout", "1")
    assert as_json.returncode == 3 and as_json.stdout == ""
    announced, *_, error = [json.loads(line) for line in as_json.stderr.splitlines()]
    assert announced == {"job": announced["job"], "recorded": 1}
    assert (error["error"], error["exit_code"]) == ("timeout", 3)
    assert f"sluice submit --resume {announced['job']}" in error["message"]

    # 2. Killed while waiting: the job id is out before any message is.
    pages = [sample_page("belgorod-euro-canals.html"), sample_page("belgorod-lowland-ledger.html")]
    second = [web.route(f"{prefix}/second/{n}.html", Response(body=pages[n % 2])) for n in range(5)]
    with open(tmp_path / "producer.err", "wb") as err:
        producer = subprocess.Popen(
            [sys.executable, "-m", "sluice.cli.main", "submit", *second],
            env=producer_env,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert producer.stdout is not None
            job_b = producer.stdout.readline().strip()
            assert job_b, (tmp_path / "producer.err").read_text()
            assert job_counts(job_b)["states"] == {"recorded": 5}
            time.sleep(0.5)  # it waits for room: nothing goes out
            assert producer.poll() is None
            assert job_counts(job_b)["states"] == {"recorded": 5}
        finally:
            producer.send_signal(signal.SIGKILL)
            producer.wait()
    killed = time.monotonic()

    # 3. Resumed at once (the killed producer's lease no longer counts), still no room: the
    # resume too ends at its --timeout, and leaves the items recorded.
    again = run_sluice(producer_env, "submit", "--resume", job_b, "--timeout", "2")
    assert again.returncode == 3, again.stderr
    assert time.monotonic() - killed < 30  # sooner than the lease would have lapsed
    assert job_counts(job_b)["states"] == {"recorded": 5}

    # 4. Resumed where workers run: every item ends, each page stored.
    done = workers.sluice("submit", "--resume", job_b, "--wait", "--timeout", "150")
    assert done.returncode == 0, done.stderr + workers.logs()
    assert "5 items enqueued" in done.stderr
    counts = job_counts(job_b)
    assert counts["final"] == counts["submitted"] == 5
    assert not {"recorded", "queued", "failed"} & set(counts["states"]), counts
    workers.check_alive()
