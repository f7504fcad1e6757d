"""``sluice status`` shows the registered feeds: how many per state, how many are being
polled or due now, and how far behind the most overdue is."""

from __future__ import annotations

import json
import time

import redis

from tests.support.cluster import run_sluice


def test_status_shows_the_feeds_schedule(
    queues: redis.Redis, own_store_env: dict[str, str]
) -> None:
    # First polls fall within a second; no worker runs here to claim them.
    env = own_store_env | {"SLUICE_FEED_INTERVAL": "1", "SLUICE_FEED_MIN_INTERVAL": "1"}
    quiet = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["feeds"] is None  # no feeds, no feeds table

    urls = [f"http://127.0.0.2/status-feeds/{n}.xml" for n in range(3)]
    assert run_sluice(env, "feeds", "add", *urls).returncode == 0
    assert run_sluice(env, "feeds", "pause", urls[0]).returncode == 0
    time.sleep(1.1)

    result = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert result.returncode == 0, result.stderr
    feeds = json.loads(result.stdout)["feeds"]
    assert feeds["states"] == {"active": 2, "paused": 1, "disabled": 0}
    assert (feeds["polling"], feeds["due_now"]) == (0, 2)  # the paused one is not due
    assert feeds["most_overdue_seconds"] > 0

    table = run_sluice(env, "status", "--inspect-timeout", "0.2")
    assert table.returncode == 0, table.stderr
    assert "feeds" in table.stdout and "paused" in table.stdout
    assert "being polled" in table.stdout and "most overdue" in table.stdout
    # A job's status is about that job's items only.
    job = run_sluice(env, "submit", "http://127.0.0.2/status-feeds/page.html")
    assert job.returncode == 0, job.stderr
    one = run_sluice(env, "status", job.stdout.strip(), "--json", "--inspect-timeout", "0.2")
    assert json.loads(one.stdout)["feeds"] is None
