"""Worker node names survive a restart, clashes are refused (for plain ``celery worker``
too), a worker killed outright and restarted at once keeps its name, and plain ``celery
worker`` serves every stage."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from sluice.workers.membership.node_names import taken_line
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


def _lease(redis_url: str, name: str) -> str | None:
    """The token of the node-name lease on ``name`` (workers.membership.node_lease), if any."""
    client = redis.Redis.from_url(redis_url)
    try:
        token = client.get(f"sluice:node:{name}")
    finally:
        client.close()
    return token.decode() if token is not None else None


def _restart(cluster: Cluster) -> None:
    """Stop the cluster's one worker (its name is free at once) and start it again as it
    was started."""
    (first,) = cluster.processes
    _stop(cluster, first)
    assert _lease(cluster.redis_url, f"fetch@{socket.gethostname()}") is None
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
    assert clash.stderr.strip().splitlines() == [_taken(fetching, f"fetch@{host}")]

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


def _taken(cluster: Cluster, name: str) -> str:
    """The line a second worker named ``name`` prints: it names the live one's process."""
    (worker,) = cluster.processes  # `sluice worker` execs Celery: the same process
    token = _lease(cluster.redis_url, name)
    assert token is not None and f":{worker.pid}:" in token
    return taken_line(name, token)


def _refused(cluster: Cluster, name: str) -> None:
    """A plain ``celery worker -n NAME`` beside the live one stops at start: one line
    naming the live one, exit 2, and the live one is still the only one of that name."""
    clash = subprocess.run(
        [*CELERY_WORKER, "-Q", "fetch", "--pool", "threads", "-n", name],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert clash.returncode == 2, clash.stdout + clash.stderr
    assert _taken(cluster, name) in clash.stderr.splitlines(), clash.stderr
    assert "Traceback" not in clash.stderr
    assert clash.stdout == ""  # stopped before Celery's banner
    cluster.check_alive()
    assert set(_queues_by_node(cluster.redis_url)) == {name}


def test_plain_celery_worker_with_a_live_nodes_name_stops_at_start(fetching: Cluster) -> None:
    """Plain ``celery worker -n fetch@HOST`` beside ``sluice worker``'s ``fetch@HOST``."""
    _refused(fetching, f"fetch@{socket.gethostname()}")


def test_two_plain_celery_workers_of_one_name_the_second_stops_at_start(
    cluster: Cluster,
) -> None:
    _celery_worker(cluster, "-Q", "fetch", "--pool", "threads", "-n", "plain@m1")
    cluster.wait_ready(stages=("fetch",))
    _refused(cluster, "plain@m1")


def test_a_killed_worker_restarted_at_once_keeps_its_name(cluster: Cluster) -> None:
    """SIGKILL leaves the lease behind; the same machine sees its holder gone and takes it
    over at once: the lease's time to live (an hour here) is not waited for."""
    env = {**cluster.env, "SLUICE_WORKER_DEAD_AFTER": "3600"}
    args = ("-Q", "extract", "--pool", "prefork", "--concurrency", "1", "-n", "cpu@m1")
    killed = _celery_worker(cluster, *args, env=env)
    cluster.wait_ready(stages=("extract",))
    assert f":{killed.pid}:" in (_lease(cluster.redis_url, "cpu@m1") or "")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    cluster.processes.remove(killed)

    restarted = _celery_worker(cluster, *args, env=env)
    cluster.wait_ready(stages=("extract",), timeout=60)
    assert f":{restarted.pid}:" in (_lease(cluster.redis_url, "cpu@m1") or "")
    assert restarted.poll() is None


def _celery_worker(
    cluster: Cluster, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen:
    log = cluster.data_dir / f"celery-{len(cluster._logs)}.log"
    with open(log, "ab") as handle:
        process = subprocess.Popen(
            [*CELERY_WORKER, *args],
            env=env or cluster.env,
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
