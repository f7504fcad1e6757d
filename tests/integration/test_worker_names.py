"""Worker node names survive a restart, clashes are refused, and plain ``celery worker``
serves every stage."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from sluice.workers.pipeline import STAGES
from tests.monitoring.conftest import unique_text
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider

pytestmark = pytest.mark.integration

CELERY_WORKER = [sys.executable, "-m", "celery", "-A", "sluice.workers", "worker"]


@pytest.fixture
def cluster(redis_provider: RedisProvider, tmp_path: Path) -> Cluster:
    redis_url = redis_provider.acquire()
    cluster = Cluster(redis_url, f"sqlite:///{tmp_path / 'store.db'}", tmp_path)
    yield cluster
    cluster.stop()
    redis_provider.release(redis_url)


@pytest.fixture(scope="module")
def fetching(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """One ``sluice worker --stages fetch`` (node ``fetch@HOST``), started once for the tests
    of names and restarts: each of them starts with that one worker and leaves one running
    (a restarted one keeps the name), so the module starts two fewer workers."""
    redis_url = redis_provider.acquire()
    data_dir = tmp_path_factory.mktemp("worker-names")
    cluster = Cluster(redis_url, f"sqlite:///{data_dir / 'store.db'}", data_dir)
    try:
        cluster.start_worker("--stages", "fetch")
        cluster.wait_ready(stages=("fetch",))
        yield cluster
    finally:
        cluster.stop()
        redis_provider.release(redis_url)


def _queues_by_node(redis_url: str) -> dict[str, set[str]]:
    app = Celery(broker=redis_url)
    try:
        replies = app.control.inspect(timeout=1.0).active_queues() or {}
    finally:
        app.close()
    return {node: {q["name"] for q in queues} for node, queues in replies.items()}


def _stop(cluster: Cluster, process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    cluster.processes.remove(process)


def _restart(cluster: Cluster) -> None:
    """Stop the cluster's one worker and start it again as it was started."""
    (first,) = cluster.processes
    _stop(cluster, first)
    cluster.start_worker("--stages", "fetch")
    cluster.wait_ready(stages=("fetch",))


def test_a_restarted_worker_keeps_its_node_name(fetching: Cluster) -> None:
    host = socket.gethostname()
    assert set(_queues_by_node(fetching.redis_url)) == {f"fetch@{host}"}

    _restart(fetching)
    assert set(_queues_by_node(fetching.redis_url)) == {f"fetch@{host}"}


def test_a_second_worker_of_the_same_name_is_refused_and_name_tells_them_apart(
    fetching: Cluster,
) -> None:
    host = socket.gethostname()
    clash = fetching.sluice("worker", "--stages", "fetch", timeout=60)
    assert clash.returncode == 2, clash.stdout + clash.stderr
    assert clash.stderr.strip().splitlines() == [_taken(f"fetch@{host}")]

    second = fetching.start_worker("--stages", "fetch", "--name", "second")
    try:
        fetching.wait_ready(stages=("fetch",))
        for _ in range(20):
            nodes = set(_queues_by_node(fetching.redis_url))
            if len(nodes) == 2:
                break
        assert nodes == {f"fetch@{host}", f"second-fetch@{host}"}
    finally:
        _stop(fetching, second)  # the module's one worker is left, as the next test expects


def _taken(name: str) -> str:
    return (
        f"sluice: a running worker is already named {name}; node names must be unique in a "
        "cluster: give this one another (sluice worker --name, celery worker -n)"
    )


def _celery_worker(cluster: Cluster, *args: str) -> subprocess.Popen:
    log = cluster.data_dir / f"celery-{len(cluster.processes)}.log"
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [*CELERY_WORKER, *args],
            env=cluster.env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    cluster.processes.append(process)
    cluster._logs.append(log)
    return process


def test_plain_celery_worker_serves_every_stage(cluster: Cluster) -> None:
    _celery_worker(cluster, "--concurrency", "1", "-n", "plain@%h")
    cluster.wait_ready(stages=STAGES)
    (queues,) = _queues_by_node(cluster.redis_url).values()
    assert queues == set(STAGES)

    result = cluster.sluice(
        "submit", "--text", "-", "--wait", "--timeout", "120", stdin=unique_text()
    )
    assert result.returncode == 0, result.stdout + result.stderr + cluster.logs()


def test_celery_worker_with_q_serves_only_those_stages(cluster: Cluster) -> None:
    _celery_worker(cluster, "--concurrency", "1", "-Q", "extract,store", "-n", "picked@%h")
    cluster.wait_ready(stages=("extract", "store"))
    (queues,) = _queues_by_node(cluster.redis_url).values()
    assert queues == {"extract", "store"}


def test_flower_shows_one_worker_after_a_restart(fetching: Cluster, tmp_path: Path) -> None:
    """The restarted worker is the same row in Flower, not an offline twin beside a new one."""
    import json
    import time

    from tests.monitoring.processes import get, running_flower

    host = socket.gethostname()

    def flower_workers(url: str) -> dict[str, bool]:
        status, body = get(f"{url}/workers?json=1")
        assert status == 200, body
        return {w["hostname"]: bool(w.get("status")) for w in json.loads(body)["data"]}

    def wait_online(url: str) -> dict[str, bool]:
        deadline = time.monotonic() + 30
        seen = flower_workers(url)
        while not any(seen.values()) and time.monotonic() < deadline:
            time.sleep(0.5)
            seen = flower_workers(url)
        return seen

    env = {k: v for k, v in fetching.env.items() if not k.startswith(("SLUICE_FLOWER", "FLOWER_"))}
    with running_flower(env, tmp_path / "flower.log") as url:
        assert wait_online(url) == {f"fetch@{host}": True}
        _restart(fetching)
        time.sleep(3)  # a heartbeat or two from the new process
        assert wait_online(url) == {f"fetch@{host}": True}
