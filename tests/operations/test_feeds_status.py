"""``sluice status`` shows the registered feeds: how many per state, how many are being
polled or due now, and how far behind the most overdue is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import redis

from sluice.shared.db import upgrade_database
from tests.support.cluster import run_sluice


def test_status_shows_the_feeds_schedule(
    queues: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'sluice.db'}"
    upgrade_database(database_url)
    env = {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATABASE_URL": database_url,
        "SLUICE_DATA_DIR": str(tmp_path),
    }
    quiet = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["feeds"] is None  # no feeds, no feeds table

    urls = [f"http://127.0.0.2/status-feeds/{n}.xml" for n in range(3)]
    assert run_sluice(env, "feeds", "add", *urls).returncode == 0
    assert run_sluice(env, "feeds", "pause", urls[0]).returncode == 0

    result = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert result.returncode == 0, result.stderr
    feeds = json.loads(result.stdout)["feeds"]
    assert feeds["states"] == {"active": 2, "paused": 1, "disabled": 0}
    assert feeds["polling"] == 0
    assert 0 <= feeds["due_now"] <= 2  # first polls are spread over the minimum interval

    table = run_sluice(env, "status", "--inspect-timeout", "0.2")
    assert table.returncode == 0, table.stderr
    assert "feeds" in table.stdout and "paused" in table.stdout
    assert "being polled" in table.stdout and "most overdue" in table.stdout
    # A job's status is about that job's items only.
    job = run_sluice(env, "submit", "http://127.0.0.2/status-feeds/page.html")
    assert job.returncode == 0, job.stderr
    one = run_sluice(env, "status", job.stdout.strip(), "--json", "--inspect-timeout", "0.2")
    assert json.loads(one.stdout)["feeds"] is None
