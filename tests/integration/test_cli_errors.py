"""The CLI's errors a person can read: one line, the service and its URL, an exit code; one
broker; a fresh store; ``--version`` and ``-v``/``-q``. Real subprocesses throughout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.support.binding import bind_store, unbind_redis
from tests.support.cluster import run_sluice
from tests.support.services import RedisProvider

pytestmark = pytest.mark.integration

CLOSED = "redis://:hunter2@127.0.0.1:1/0"  # nothing listens on port 1
MASKED = "redis://:***@127.0.0.1:1/0"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLUICE_", "CELERY_"))}
    return env | {"SLUICE_DATA_DIR": str(tmp_path)} | extra


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


def test_version_and_exit_codes_in_help(tmp_path: Path) -> None:
    result = run_sluice(_env(tmp_path), "--version", timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "sluice 0.1.0"
    shown = run_sluice(_env(tmp_path), "--help", timeout=60).stdout
    for code in (0, 1, 2, 3, 4, 5, 6, 7, 10, 130):
        assert f"\n  {code}  " in shown, shown


def test_v_and_q_set_the_log_level_on_every_command(tmp_path: Path) -> None:
    # Commands that read only the store, with no Redis answering: no cluster to check, so
    # the store's own log lines are all there is.
    def env(path: Path) -> dict[str, str]:
        return _env(path, SLUICE_REDIS_URL=CLOSED)

    quiet = run_sluice(env(tmp_path), "failures", "list", timeout=60)
    assert quiet.returncode == 0 and "INFO" not in quiet.stderr, quiet.stderr
    # The first use of a fresh SQLite store migrates it, which alembic logs at INFO.
    loud = run_sluice(env(tmp_path / "b"), "failures", "list", "-v", timeout=60)
    assert loud.returncode == 0 and "INFO alembic" in loud.stderr, loud.stderr
    before = run_sluice(env(tmp_path / "c"), "-v", "articles", "list", timeout=60)
    assert before.returncode == 0 and "INFO alembic" in before.stderr, before.stderr
    silent = run_sluice(env(tmp_path / "d"), "-vq", "articles", "list", timeout=60)
    assert silent.returncode == 0 and "INFO" not in silent.stderr, silent.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("submit", "--text", "-"),
        ("status",),
        ("worker", "--stages", "fetch"),
        ("up", "--no-demo", "--no-flower"),
    ],
)
def test_unreachable_redis_is_one_line_and_exit_5(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = run_sluice(_env(tmp_path, SLUICE_REDIS_URL=CLOSED), *args, stdin="x", timeout=120)
    assert result.returncode == 5, result.stdout + result.stderr
    line = _one_line(result)
    assert line.startswith(f"sluice {args[0]}: Redis unreachable at {MASKED}"), line
    assert "hunter2" not in result.stdout + result.stderr


def test_status_json_with_redis_unreachable_exits_5_with_a_json_error(tmp_path: Path) -> None:
    result = run_sluice(_env(tmp_path, SLUICE_REDIS_URL=CLOSED), "status", "--json", timeout=60)
    assert result.returncode == 5
    assert json.loads(result.stdout)["pipeline"] is None  # the store's counts are still shown
    error = json.loads(_one_line(result))
    assert error == {
        "error": "redis_unreachable",
        "message": f"Redis unreachable at {MASKED}",
        "exit_code": 5,
    }


def test_unreachable_database_is_one_line_and_exit_6(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/test"
    result = run_sluice(_env(tmp_path, SLUICE_DATABASE_URL=url), "articles", "list", timeout=60)
    assert result.returncode == 6, result.stdout + result.stderr
    line = _one_line(result)
    masked = "postgresql+psycopg://postgres:***@127.0.0.1:1/test"
    assert line.startswith(f"sluice articles: database unreachable at {masked}"), line
    result = run_sluice(
        _env(tmp_path, SLUICE_DATABASE_URL=url), "articles", "list", "--json", timeout=60
    )
    assert json.loads(_one_line(result))["error"] == "database_unreachable"


def test_a_fresh_sqlite_store_is_brought_up_to_date_on_first_use(tmp_path: Path) -> None:
    for args in (("failures", "list"), ("articles", "list"), ("verify",)):
        result = run_sluice(_env(tmp_path / args[0]), *args, timeout=60)
        assert "no such table" not in result.stdout + result.stderr
        assert "Traceback" not in result.stderr, result.stderr


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    base = os.environ.get("SLUICE_TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("SLUICE_TEST_DATABASE_URL names no PostgreSQL (set it to run this)")
    name = f"sluice_empty_{uuid.uuid4().hex[:8]}"
    admin = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def test_postgres_without_schema_names_the_command_to_run(
    tmp_path: Path, empty_postgres: str, redis_provider: RedisProvider
) -> None:
    redis_url = redis_provider.acquire()
    try:
        unbind_redis(redis_url)  # a new cluster: `db upgrade` binds it
        env = _env(tmp_path, SLUICE_DATABASE_URL=empty_postgres, SLUICE_REDIS_URL=redis_url)
        result = run_sluice(env, "failures", "list", timeout=60)
        assert result.returncode == 7, result.stdout + result.stderr
        assert _one_line(result) == (
            f"sluice failures: the database at {empty_postgres} has no sluice schema: "
            "run 'sluice db upgrade'"
        )
        assert run_sluice(env, "db", "upgrade", timeout=120).returncode == 0
        assert run_sluice(env, "failures", "list", timeout=60).returncode == 0
    finally:
        redis_provider.release(redis_url)


def test_a_split_broker_url_is_refused_by_sluice_and_by_plain_celery(
    tmp_path: Path, redis_provider: RedisProvider
) -> None:
    ours = redis_provider.acquire()
    try:
        other = ours.rsplit("/", 1)[0] + "/15"
        env = _env(tmp_path, SLUICE_REDIS_URL=ours, CELERY_BROKER_URL=other)
        result = run_sluice(env, "status", timeout=60)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "CELERY_BROKER_URL" in _one_line(result) and "SLUICE_REDIS_URL" in result.stderr
        worker = subprocess.run(
            [sys.executable, "-m", "celery", "-A", "sluice.workers", "worker", "--pool", "solo"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert worker.returncode != 0
        assert "differs from SLUICE_REDIS_URL" in worker.stdout + worker.stderr
        # The same Redis spelled differently is no disagreement.
        same = _env(tmp_path, SLUICE_REDIS_URL=ours, CELERY_BROKER_URL=ours.replace("/", "/", 1))
        bind_store(f"sqlite:///{tmp_path / 'sluice.db'}")  # the default store, in this cluster
        assert run_sluice(same, "failures", "list", timeout=60).returncode == 0
    finally:
        redis_provider.release(ours)


@pytest.mark.parametrize(
    ("args", "code", "kind"),
    [
        (["articles", "show", "no-such-article", "--json"], 2, "no_such_article"),
        (["verify", "no-such-job", "--json"], 2, "no_such_job"),
        (["failures", "retry", "--json"], 2, "usage"),
        (["status", "--watch", "0", "--json"], 2, "usage"),
        (["submit", "--resume", "no-such-job", "--json"], 2, "no_such_job"),
        # A filter cannot change what the job was submitted with: refused, not ignored.
        (["submit", "--resume", "some-job", "--language", "fr", "--json"], 2, "usage"),
        (["submit", "--file", "/nonexistent/urls.txt", "--json"], 8, "unreadable_file"),
        (["submit", "--json"], 4, "nothing_to_submit"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_errors_with_json_are_json_on_stderr(
    tmp_path: Path, args: list[str], code: int, kind: str
) -> None:
    redis_url = RedisProvider()
    try:
        url = redis_url.acquire()
        bind_store(f"sqlite:///{tmp_path / 'sluice.db'}")  # the default store, in this cluster
        result = run_sluice(_env(tmp_path, SLUICE_REDIS_URL=url), *args, timeout=60)
    finally:
        redis_url.close()
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stdout == ""
    error = json.loads(_one_line(result))
    assert (error["error"], error["exit_code"]) == (kind, code), error
