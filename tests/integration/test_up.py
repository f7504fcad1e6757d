"""``sluice up``: the one command that runs the main job, and the embedded Redis it can start."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sluice.shared.cluster_binding import read_redis_id, read_store_id
from sluice.shared.embedded_redis import EmbeddedRedis, redis_answers
from tests.support.binding import bind_for_tests, bind_store, unbind_redis
from tests.support.cluster import run_sluice
from tests.support.services import RedisProvider

pytestmark = pytest.mark.integration


def test_up_runs_the_demo_end_to_end(redis_provider: RedisProvider, tmp_path: Path) -> None:
    """Workers for every stage, the sample site, its feed and a resubmission: one original.
    As on a fresh machine, Redis and the store are bound to no cluster: ``up`` binds them."""
    redis_url = redis_provider.acquire()
    unbind_redis(redis_url)
    store_url = f"sqlite:///{tmp_path / 'sluice.db'}"
    env = {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_DATABASE_URL": store_url,
        "COLUMNS": "200",  # the summary's rows on one line each
    }
    try:
        result = run_sluice(env, "up", "--demo-only", "--no-flower", timeout=280)
        cluster_id = read_redis_id(redis_url)
    finally:
        redis_provider.release(redis_url)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output + _logs(tmp_path)
    assert cluster_id is not None and read_store_id(store_url) == cluster_id
    assert f"cluster: {cluster_id}" in result.stdout
    assert "workers: fetch, extract, dedup, tag, store are being served" in output
    # The feed's two layouts of one article, and that article once more.
    assert "states: duplicate=2, stored=1" in output, output
    # The summary names every item with its final state.
    rows = [line for line in result.stdout.splitlines() if re.match(r"│ \d+ +│ http", line)]
    states = sorted(cell.strip() for row in rows for cell in row.split("│")[3:4])
    assert states == ["duplicate", "duplicate", "stored"], result.stdout


def test_up_gives_its_own_embedded_redis_the_store_cluster_id(
    redis_provider: RedisProvider, tmp_path: Path
) -> None:
    """``make run`` a second time: the store was bound by the first, and the embedded Valkey
    ``up`` starts afresh is empty; it takes the store's id. A store of another cluster
    beside a Redis that answers is refused."""
    store_url = f"sqlite:///{tmp_path / 'sluice.db'}"
    bind_store(store_url, "the-first-run")
    env = {
        **os.environ,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_DATABASE_URL": store_url,
        "SLUICE_WORKER_CONCURRENCY": "1",
    }
    result = run_sluice(
        env, "up", "--embedded-redis", "--no-demo", "--demo-only", "--no-flower", timeout=280
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output + _logs(tmp_path)
    assert "(embedded)" in output and "cluster: the-first-run" in result.stdout

    redis_url = redis_provider.acquire()
    try:
        other = f"sqlite:///{tmp_path / 'other.db'}"
        bind_for_tests(redis_url, other)  # Redis answers and belongs to another store
        env |= {"SLUICE_REDIS_URL": redis_url}
        refused = run_sluice(env, "up", "--no-demo", "--no-flower", timeout=120)
    finally:
        redis_provider.release(redis_url)
    assert refused.returncode == 10, refused.stdout + refused.stderr
    assert refused.stderr.strip().startswith(f"sluice up: Redis at {redis_url} belongs to")
    assert "workers" not in refused.stdout


def test_embedded_server_starts_answers_and_stops(tmp_path: Path) -> None:
    """What ``sluice up`` starts on a machine where no Redis answers."""
    server = EmbeddedRedis(tmp_path / "valkey")
    try:
        assert redis_answers(server.url)
    finally:
        server.stop()
    assert not redis_answers(server.url, timeout=0.5)


def _logs(data_dir: Path) -> str:
    return "".join(log.read_text()[-3000:] for log in (data_dir / "logs").glob("*.log"))
