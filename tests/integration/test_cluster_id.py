"""A cluster is one Redis and one store: every process refuses a pair that is not one, and
only an explicit step binds. Real ``sluice`` and ``celery`` processes throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery.utils.nodenames import host_format
from sqlalchemy import func, select

from sluice.shared.cluster_binding import read_redis_id, read_store_id
from sluice.shared.cluster_id import EXIT_CLUSTER
from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import read_scope
from sluice.shared.db.schema import jobs
from sluice.workers.membership.node_lease import NodeNameLease
from tests.support.binding import TEST_CLUSTER_ID, bind_store, unbind_redis
from tests.support.cluster import run_sluice
from tests.support.services import RedisProvider, fresh_store

pytestmark = pytest.mark.integration


def _env(own_redis: str, database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "CELERY_"))}
    return env | {
        "SLUICE_REDIS_URL": own_redis,
        "SLUICE_DATABASE_URL": database_url,
        "SLUICE_DATA_DIR": str(data_dir),
    }


def _the_line(output: str) -> str:
    """The refusal: exactly one line of ``output`` is sluice's (Celery may warn first)."""
    lines = [line for line in output.splitlines() if line.startswith("sluice ")]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.fixture
def own_redis(redis_provider: RedisProvider) -> Iterator[str]:
    """A Redis database of its own, bound to the tests' cluster (another store's)."""
    url = redis_provider.acquire()
    yield url
    redis_provider.release(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new store at the newest schema, bound to no cluster."""
    admin = os.environ.get("SLUICE_TEST_DATABASE_URL") if request.param == "postgresql" else None
    if request.param == "postgresql" and not admin:
        pytest.skip("SLUICE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with fresh_store(admin, tmp_path) as url:
        upgrade_database(url)
        yield url


def _worker(env: dict[str, str], plain: bool) -> subprocess.CompletedProcess[str]:
    if plain:
        command = ["-m", "celery", "-A", "sluice.workers", "worker", "-Q", "store"]
        command += ["--pool", "prefork", "-c", "1", "-n", "cluster-test@%h"]
    else:
        command = ["-m", "sluice.cli.main", "worker", "--stages", "store"]
    return subprocess.run(
        [sys.executable, *command], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("plain", [False, True], ids=["sluice-worker", "celery-worker"])
@pytest.mark.parametrize("store_cluster", [None, "another-cluster"], ids=["unbound", "bound"])
def test_a_worker_on_a_store_not_of_its_redis_cluster_exits_with_one_line(
    own_redis: str, store_url: str, tmp_path: Path, plain: bool, store_cluster: str | None
) -> None:
    """The machine left on another store (a fresh one or another cluster's): its worker,
    ``sluice worker`` or plain Celery, stops before it takes any task."""
    if store_cluster is not None:
        bind_store(store_url, store_cluster)
    result = _worker(_env(own_redis, store_url, tmp_path), plain)
    assert result.returncode == EXIT_CLUSTER, result.stdout + result.stderr
    line = _the_line(result.stderr)
    assert line.startswith("sluice worker: ")
    assert f"Redis at {own_redis}" in line and f"the store at {store_url}" in line
    assert " ready." not in result.stdout + result.stderr  # it never took a task
    assert read_store_id(store_url) == store_cluster  # the refusal bound nothing


def test_a_worker_on_a_redis_not_of_its_store_cluster_exits_with_one_line(
    own_redis: str, store_url: str, tmp_path: Path
) -> None:
    """The machine left on a Redis of its own (a local one that answered): refused too."""
    unbind_redis(own_redis)
    bind_store(store_url)
    result = _worker(_env(own_redis, store_url, tmp_path), plain=True)
    assert result.returncode == EXIT_CLUSTER, result.stdout + result.stderr
    assert "belongs to no cluster, while the store" in _the_line(result.stderr)
    assert read_redis_id(own_redis) is None


def test_a_refused_worker_leaves_a_redis_of_another_cluster_as_it_found_it(
    own_redis: str, tmp_path: Path
) -> None:
    """A worker is checked for its cluster before it leases its node name: in a Redis of
    another cluster where a live worker holds that very name, it is refused for the cluster
    (exit 10), not for the name, and the other worker's lease is left alone."""
    store_url = f"sqlite:///{tmp_path / 'other.db'}"
    bind_store(store_url, "another-cluster")
    client = redis.Redis.from_url(own_redis)
    lease = NodeNameLease(client, host_format("cluster-test@%h"), ttl=120)
    try:
        assert lease.take() is None  # held by this test's process, which lives on
        result = _worker(_env(own_redis, store_url, tmp_path), plain=True)
        assert result.returncode == EXIT_CLUSTER, result.stdout + result.stderr
        assert "they are not one cluster" in _the_line(result.stderr)
        assert client.get(lease.key) == lease.token.encode()
    finally:
        client.delete(lease.key)
        client.close()


@pytest.mark.parametrize(
    "args",
    [
        ("submit", "http://127.0.0.1:9/a.html"),
        ("status",),
        ("articles", "list"),
        ("feeds", "list"),
        ("metrics", "--port", "0"),
        ("flower", "--port", "0"),
    ],
    ids=lambda args: args[0],
)
def test_a_command_on_a_store_bound_to_another_redis_exits_with_one_line(
    own_redis: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    store_url = f"sqlite:///{tmp_path / 'other.db'}"
    bind_store(store_url, "another-cluster")
    result = run_sluice(_env(own_redis, store_url, tmp_path), *args, timeout=60)
    assert result.returncode == EXIT_CLUSTER, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"sluice {args[0]}: Redis at {own_redis} belongs to cluster {TEST_CLUSTER_ID} and "
        f"the store at {store_url} to cluster another-cluster: they are not one cluster; "
        "point SLUICE_REDIS_URL and SLUICE_DATABASE_URL at one cluster's, or re-bind on "
        "purpose with 'sluice cluster bind --force'"
    )
    with read_scope(store_url) as conn:
        assert conn.execute(select(func.count()).select_from(jobs)).scalar() == 0


def test_the_default_store_of_a_machine_is_refused_and_said_so_in_json(
    own_redis: str, tmp_path: Path
) -> None:
    """No SLUICE_DATABASE_URL: the SQLite file the command makes is fresh, so refused."""
    env = _env(own_redis, "", tmp_path)
    del env["SLUICE_DATABASE_URL"]
    result = run_sluice(env, "submit", "--json", "http://127.0.0.1:9/a.html", timeout=60)
    assert result.returncode == EXIT_CLUSTER, result.stdout + result.stderr
    error = json.loads(result.stderr)
    assert (error["error"], error["exit_code"]) == ("cluster_mismatch", EXIT_CLUSTER)
    assert (
        f"the store at sqlite:///{tmp_path / 'sluice.db'} belongs to no cluster"
        in (error["message"])
    )


def test_db_upgrade_binds_a_new_cluster_and_never_a_fresh_store_to_a_bound_redis(
    own_redis: str, store_url: str, tmp_path: Path
) -> None:
    unbind_redis(own_redis)
    env = _env(own_redis, store_url, tmp_path)
    assert run_sluice(env, "status", timeout=60).returncode == EXIT_CLUSTER  # not yet bound
    bound = run_sluice(env, "db", "upgrade", timeout=120)
    assert bound.returncode == 0, bound.stdout + bound.stderr
    cluster_id = read_redis_id(own_redis)
    assert cluster_id is not None and read_store_id(store_url) == cluster_id
    assert f"new cluster {cluster_id}" in bound.stdout
    shown = run_sluice(env, "cluster", "show", "--json", timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert json.loads(shown.stdout)["redis"]["cluster_id"] == cluster_id
    assert run_sluice(env, "status", timeout=60).returncode == 0

    # A second, fresh store on the same Redis: `db upgrade` migrates it but binds nothing.
    second = f"sqlite:///{tmp_path / 'second.db'}"
    other_env = _env(own_redis, second, tmp_path)
    refused = run_sluice(other_env, "db", "upgrade", timeout=120)
    assert refused.returncode == EXIT_CLUSTER, refused.stdout + refused.stderr
    assert "belongs to no cluster" in _the_line(refused.stderr)
    assert read_store_id(second) is None and read_redis_id(own_redis) == cluster_id
    assert run_sluice(other_env, "cluster", "bind", timeout=60).returncode == EXIT_CLUSTER

    # Re-bound on purpose: a new id in both, and the first store is cut off.
    forced = run_sluice(other_env, "cluster", "bind", "--force", timeout=60)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    rebound = read_redis_id(own_redis)
    assert rebound not in (None, cluster_id) and read_store_id(second) == rebound
    cut_off = run_sluice(env, "cluster", "show", timeout=60)
    assert cut_off.returncode == EXIT_CLUSTER
    assert f"to cluster {cluster_id}" in _the_line(cut_off.stderr)
