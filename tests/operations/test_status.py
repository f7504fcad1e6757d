"""``sluice status`` for operators: per-stage depth, workers, throughput and time to drain.

Real ``sluice worker`` processes serve fetch and extract only, so what extract produces
piles up in the dedup queue, which nobody consumes: a known depth with no workers.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from importlib import resources

import pytest
import redis

from sluice.cli.pipeline import WorkerSnapshot, drain_seconds, tasks_started
from sluice.shared.queues import queue_depths
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.politeness import HostBudget
from tests.support.cluster import Cluster, interruptible, sqlite_cluster
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

PAGES = 30


@pytest.fixture(scope="module")
def front(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Workers for fetch (4 threads) and extract (1 process) only, on a Redis of their own."""
    with sqlite_cluster(
        redis_provider,
        tmp_path_factory.mktemp("operations-status"),
        [("--stages", "fetch,extract")],
        {
            "SLUICE_FETCH_HOST_RATE": "0",
            "SLUICE_FETCH_CONCURRENCY": "4",
            "SLUICE_WORKER_CONCURRENCY": "1",
        },
        stages=("fetch", "extract"),
    ) as cluster:
        yield cluster


def _status(cluster: Cluster, *args: str) -> dict:
    result = cluster.sluice("status", *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _wait_for(condition: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_status_shows_depth_workers_throughput_and_drain_per_stage(
    front: Cluster, web: WebServer
) -> None:
    client = redis.Redis.from_url(front.redis_url)
    client.delete("sluice:status:task-totals")  # throughput is measured from the next look
    page = resources.files("sluice.shared").joinpath("samples", "belgorod-euro-canals.html")
    prefix = f"/{uuid.uuid4().hex[:8]}"
    urls = [web.route(f"{prefix}/{n}.html", Response(body=page.read_bytes())) for n in range(PAGES)]

    first = _status(front)["pipeline"]
    assert first["throughput_window_s"] is None  # nothing to compare with yet
    assert len(first["workers"]) == 2  # sluice worker runs a thread and a prefork worker
    stages = first["stages"]
    assert {s: (v["workers"], v["slots"]) for s, v in stages.items()} == {
        "fetch": (1, 4),
        "extract": (1, 1),
        "dedup": (0, 0),
        "tag": (0, 0),
        "store": (0, 0),
    }
    assert all(v["throughput_per_s"] is None for v in stages.values())

    time.sleep(1.1)  # the next look must be at least a second later to measure a rate
    submitted = front.sluice("submit", "--file", "-", stdin="\n".join(urls))
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip()
    _wait_for(lambda: queue_depths(client, ["dedup"])["dedup"] == PAGES)

    status = _status(front, job_id)
    # The job's counts keep their keys, with the new ones beside them.
    assert status["submitted"] == PAGES and status["missing"] == 0
    assert status["states"] == {"extracted": PAGES}
    assert status["not_enqueued"] == 0 and status["enqueueing"] is False
    pipeline = status["pipeline"]
    window = pipeline["throughput_window_s"]
    assert 1 <= window <= 60
    views = pipeline["stages"]
    # Every task of the job started inside the window, and nothing else. Fetch may have
    # deferred a few (waiting for the host's robots.txt): each deferral is one more task.
    for stage in ("fetch", "extract"):
        assert views[stage]["queued"] == 0 and views[stage]["drain_s"] == 0
    assert views["fetch"]["throughput_per_s"] * window > PAGES - 1
    assert abs(views["extract"]["throughput_per_s"] * window - PAGES) < 1, views["extract"]
    assert views["dedup"] == {
        "queued": PAGES,
        "workers": 0,
        "slots": 0,
        "throughput_per_s": 0.0,
        "drain_s": None,  # nobody takes from it: it never drains
    }

    table = front.sluice("status", job_id)
    assert table.returncode == 0, table.stderr
    assert "pipeline" in table.stdout and "tasks/s over the last" in table.stdout
    dedup_row = next(line for line in table.stdout.splitlines() if "│ dedup" in line)
    assert "30" in dedup_row and "no workers" in dedup_row

    # URLs waiting in the frontier for their host's turn are fetch backlog: the drain time
    # counts them, at the pace fetch has kept.
    HostBudget(client, 1.0).slow_down("later.test", retry_after=600)
    Frontier(client).add([(f"{job_id}:w{n}", f"http://later.test/{n}", {}, 0) for n in range(40)])
    fetch = _status(front, job_id)["pipeline"]["stages"]["fetch"]
    assert (fetch["queued"], fetch["frontier"]) == (0, 40)
    assert fetch["throughput_per_s"] > 0
    assert fetch["drain_s"] == pytest.approx(40 / fetch["throughput_per_s"], rel=0.02)
    Frontier(client).clear()
    client.close()


def _watch(cluster: Cluster, *args: str, enough: Callable[[str], bool]) -> tuple[int, str]:
    """Run ``sluice status --watch ARGS`` until its output is ``enough``, then Ctrl-C it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sluice.cli.main", "status", "--watch", *args],
        # Rich refreshes a live display only on a terminal: say stdout is one.
        env={**cluster.env, "COLUMNS": "120", "TTY_INTERACTIVE": "1", "TTY_COMPATIBLE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    chunks: list[str] = []
    reader = threading.Thread(target=lambda: chunks.extend(iter(process.stdout.readline, "")))
    reader.start()
    try:
        _wait_for(lambda: enough("".join(chunks)), timeout=60)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=90)  # generous: on two loaded cores, once over 30 s
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join()
    err = process.stderr.read()
    assert "Traceback" not in err, err
    return process.returncode, "".join(chunks)


def test_watch_refreshes_until_interrupted(front: Cluster) -> None:
    code, out = _watch(
        front, "0.5", "--json", "--inspect-timeout", "0.3", enough=lambda o: o.count("\n") >= 3
    )
    assert code == 130  # Ctrl-C ends a watch as it ends any command (cli.errors)
    looks = [json.loads(line) for line in out.splitlines()]
    assert len(looks) >= 3
    assert all(look["pipeline"]["stages"]["extract"]["workers"] == 1 for look in looks)
    # From the second look on, throughput is measured over the time between looks.
    assert looks[-1]["pipeline"]["throughput_window_s"] is not None

    code, out = _watch(
        front, "0.5", "--inspect-timeout", "0.3", enough=lambda o: o.count("Ctrl-C stops") >= 2
    )
    assert code == 130
    assert "pipeline" in out and "tasks/s" in out


def test_throughput_counts_tasks_started_between_looks() -> None:
    then = {"totals": {"a": {"workers.fetch": 10}, "b": {"workers.tag": 5}}}
    now = WorkerSnapshot(
        totals={
            "a": {"workers.fetch": 25, "workers.extract": 3},  # 15 and 3 more
            "b": {"workers.tag": 2},  # restarted: its 2 are all new
            "c": {"workers.tag": 100},  # did not answer before and is old: unknown, left out
            "d": {"workers.store": 4},  # started within the window
        },
        uptime={"a": 500, "b": 5, "c": 900, "d": 10},
    )
    assert tasks_started(now, then, window=30) == {
        "workers.fetch": 15,
        "workers.extract": 3,
        "workers.tag": 2,
        "workers.store": 4,
    }


def test_time_to_drain() -> None:
    assert drain_seconds(0, None) == 0
    assert drain_seconds(120, 4.0) == 30
    assert drain_seconds(120, 0.0) is None
    assert drain_seconds(120, None) is None
