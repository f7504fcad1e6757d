"""``sluice status`` shows the crawl frontier: URLs waiting per host (the busiest by name),
hosts due now, URLs in flight, and the oldest wait."""

from __future__ import annotations

import json

import redis

from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.politeness import HostBudget
from tests.support.cluster import run_sluice


def test_status_shows_where_the_backlog_waits(
    queues: redis.Redis, own_store_env: dict[str, str]
) -> None:
    env = own_store_env
    frontier = Frontier(queues)
    frontier.add([(f"j:{n}", f"https://big.example/{n}", {}, 0) for n in range(40)])
    frontier.add([(f"j:s{n}", f"https://small.example/{n}", {}, 0) for n in range(3)])
    HostBudget(queues, 1.0).slow_down("later.example", retry_after=120)
    frontier.add([("j:l", "https://later.example/x", {}, 0)])
    (lease, _), _ = frontier.release(0, 60_000, 2)  # big and small each have one in flight

    result = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)["frontier"]
    assert (shown["items"], shown["in_flight"], shown["hosts"], shown["due_now"]) == (44, 2, 3, 0)
    assert shown["top_hosts"][:2] == [
        {"host": "big.example", "waiting": 39},
        {"host": "small.example", "waiting": 2},
    ]
    assert shown["oldest_wait_seconds"] >= 0

    frontier.finish(lease.item, lease.token)  # its host is due again
    table = run_sluice(env, "status", "--inspect-timeout", "0.2")
    assert table.returncode == 0, table.stderr
    assert "frontier" in table.stdout and "big.example" in table.stdout
    assert "hosts (due now)" in table.stdout and "3 (1)" in table.stdout


def test_status_and_metrics_say_why_each_host_waits(
    queues: redis.Redis, own_store_env: dict[str, str]
) -> None:
    env = own_store_env
    frontier = Frontier(queues)
    budget = HostBudget(queues, 1.0, backoff=60)
    budget.slow_down("busy.example", retry_after=300)
    budget.book("polite.example", crawl_delay=86400)  # the cap is the caller's business
    budget.failed("silent.example")
    budget.failed("silent.example")  # a second failure in a row: twice as long
    for host in ("busy.example", "polite.example", "silent.example"):
        frontier.add([(f"j:{host}", f"https://{host}/a", {}, 0)])

    result = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert result.returncode == 0, result.stderr
    waits = json.loads(result.stdout)["frontier"]["waits"]
    by_reason = {k: v for k, v in waits["hosts_by_reason"].items() if v}
    assert by_reason == {"retry-after": 1, "crawl-delay": 1, "back-off": 1}
    longest = {row["host"]: row for row in waits["longest"]}
    assert longest["polite.example"]["reason"] == "crawl-delay"
    assert 86000 < longest["polite.example"]["seconds_left"] <= 86400
    assert 290 < longest["busy.example"]["seconds_left"] <= 300
    assert 100 < longest["silent.example"]["seconds_left"] <= 120
    assert waits["longest"][0]["host"] == "polite.example"  # the longest wait first

    table = run_sluice(env, "status", "--inspect-timeout", "0.2")
    assert "hosts waiting, and why" in table.stdout and "back-off" in table.stdout
