"""What the CLI's screens say: an empty table says there is nothing, cut text ends with
"…", moments are local times ("in 4 min"), and ``db upgrade`` names what it applied."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import insert

from sluice.cli.main import main
from sluice.cli.times import relative, span
from sluice.shared.db import migrate
from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles
from sluice.shared.settings import get_settings
from tests.support.binding import unbind_redis
from tests.support.cluster import run_sluice
from tests.support.services import RedisProvider

TABLE_TOP = "┏"
EPOCH_FLOAT = re.compile(r"\b1[0-9]{9}\.[0-9]")
LOCAL_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def _out(env: dict[str, str], *args: str) -> str:
    done = run_sluice({**env, "COLUMNS": "160"}, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_table_that_can_be_empty_says_so(
    own_store_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # In this process (seven commands, no start-up each): on the test's own empty store.
    monkeypatch.setenv("SLUICE_DATABASE_URL", own_store_env["SLUICE_DATABASE_URL"])
    monkeypatch.setenv("COLUMNS", "160")
    get_settings.cache_clear()
    said = {
        ("articles", "list"): "no articles stored",
        ("articles", "list", "--job", "j0"): "no articles of job j0 stored",
        ("articles", "search", "harbour", "--site", "x.test"): (
            "no stored article matches 'harbour' with --site x.test"
        ),
        ("failures", "list"): "no failures waiting to be retried",
        ("failures", "list", "--all", "--stage", "fetch"): "no failures matching --stage fetch",
        ("feeds", "list"): "no feeds registered (sluice feeds add URL)",
        ("feeds", "list", "--state", "paused"): "no paused feeds registered",
    }
    for command, sentence in said.items():
        assert main(list(command)) == 0, command
        out = capsys.readouterr().out
        assert sentence in out and TABLE_TOP not in out, (command, out)


def test_cut_text_ends_with_an_ellipsis(own_store_env: dict[str, str]) -> None:
    title = "A council vote on the harbour ferry budget " * 4
    with get_engine(own_store_env["SLUICE_DATABASE_URL"]).begin() as conn:
        conn.execute(
            insert(articles).values(
                id="a" * 24, job_id="j1", title=title, text="t", timings={}, url="https://x.test/"
            )
        )
    out = _out(own_store_env, "articles", "list")
    assert title[:69] + "…" in out, out


def test_feed_times_are_local_and_relative(own_store_env: dict[str, str]) -> None:
    env = own_store_env
    added = _out(env, "feeds", "add", "http://127.0.0.2/screens/feed.xml", "--every", "30")
    assert added.rstrip().endswith("feed.xml, first poll now"), added
    spread = _out(env, "feeds", "add", "http://127.0.0.2/screens/later.xml", "--spread", "60")
    assert re.search(r"later\.xml, first poll in \d+ min$", spread.rstrip()), spread
    shown = _out(env, "feeds", "show", "http://127.0.0.2/screens/feed.xml")
    assert not EPOCH_FLOAT.search(shown), shown
    next_poll = next(line for line in shown.splitlines() if line.startswith("next_poll_at: "))
    assert LOCAL_TIME.search(next_poll) and re.search(r"\((now|\d+ s ago)\)", next_poll)
    assert "every: 30 min" in shown and "last_poll_at: -" in shown
    listed = _out(env, "feeds", "list")
    assert not EPOCH_FLOAT.search(listed) and "30 min" in listed
    assert relative(1_000_240.0, 1_000_000.0) == "in 4 min"
    assert relative(1_000_000.0, 1_000_020.0) == "20 s ago"
    assert span(9000) == "2.5 h"


def test_db_upgrade_names_the_migrations_it_applied(
    own_store_env: dict[str, str], redis_provider: RedisProvider
) -> None:
    """A new machine: a fresh store and a Redis of no cluster, which `db upgrade` binds."""
    fresh = Path(own_store_env["SLUICE_DATA_DIR"]) / "fresh.db"
    redis_url = redis_provider.acquire()
    unbind_redis(redis_url)
    env = own_store_env | {"SLUICE_DATABASE_URL": f"sqlite:///{fresh}"}
    env |= {"SLUICE_REDIS_URL": redis_url}
    versions = Path(migrate.__file__).with_name("migrations") / "versions"
    every = sorted(path.name[:4] for path in versions.glob("[0-9]*.py"))
    try:
        first = _out(env, "db", "upgrade")
        again = _out(env, "db", "upgrade")
    finally:
        redis_provider.release(redis_url)
    assert f"applied {len(every)} migration(s)" in first, first
    applied = re.findall(r"^  (\d{4})  \S", first, re.MULTILINE)
    assert applied == every, first
    assert "0005  Feeds kept in the store" in first
    assert re.search(r"^new cluster [0-9a-f]{16}: Redis and the store bound$", first, re.M), first
    assert "nothing to do" in again and "applied" not in again, again
    assert "Redis and the store are bound" in again, again
