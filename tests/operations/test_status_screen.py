"""``sluice status`` on a busy cluster fits a 40-line, 120-column terminal (``--watch``
shows it whole), and counts the frontier's waiting URLs in the fetch stage's backlog."""

from __future__ import annotations

import io
import json

import redis
from rich.console import Console, Group
from rich.text import Text
from sqlalchemy import update

from sluice.cli.status import render
from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import items
from sluice.shared.jobs import ItemSpec, create_job
from sluice.shared.queues import queue_keys
from sluice.shared.states import State
from sluice.workers.fetching.frontier import Frontier
from sluice.workers.fetching.politeness import HostBudget
from tests.support.cluster import run_sluice

LONG_HOST = "a-very-long-host-name-of-a-regional-paper.example"
FAILURES = {
    "http_404": 61,
    "robots_disallowed": 23,
    "timeout": 17,
    "not_an_article": 12,
    "too_large": 4,
    "connection_refused": 3,
    "http_503_retries_exhausted_after_every_attempt_of_the_long_kind": 2,
    "dns_failed": 1,
}


def _busy_job(database_url: str) -> None:
    """One job's items in every state a busy crawl shows, with eight failure reasons."""
    specs = [ItemSpec("url", f"https://a.example/{n}") for n in range(2_000)]
    specs += [
        ItemSpec("url", f"https://b.example/{reason}/{n}", state=State.FAILED, reason=reason)
        for reason, count in FAILURES.items()
        for n in range(count)
    ]
    specs += [
        ItemSpec("url", f"https://c.example/{n}", state=State.SKIPPED, reason="language")
        for n in range(40)
    ]
    with get_engine(database_url).begin() as conn:
        create_job("busy0screen1", specs, conn=conn)
        for state, first, last in (
            (State.RECORDED, 0, 49),  # a submission still sending: one more line, a note
            (State.FETCHED, 50, 99),
            (State.EXTRACTED, 100, 129),
            (State.TAGGED, 130, 139),
            (State.STORED, 140, 1_599),
            (State.DUPLICATE, 1_600, 1_699),
            (State.UNCHANGED, 1_700, 1_719),
        ):
            conn.execute(
                update(items).where(items.c.item_id.between(first, last)).values(state=state.value)
            )


def test_status_of_a_busy_cluster_fits_40_by_120_and_counts_the_frontier_as_fetch_backlog(
    queues: redis.Redis, own_store_env: dict[str, str]
) -> None:
    env = own_store_env
    _busy_job(env["SLUICE_DATABASE_URL"])
    budget = HostBudget(queues, 1.0, backoff=60)  # hosts that wait, each for its reason
    budget.slow_down("news-1.example", retry_after=300)
    budget.book("news-2.example", crawl_delay=86400)
    for h in range(3, 9):
        budget.failed(f"news-{h}.example")
    frontier = Frontier(queues)
    for h in range(14):
        host = f"news-{h}.example" if h < 13 else LONG_HOST
        frontier.add([(f"j:{h}:{n}", f"https://{host}/{n}", {}, 0) for n in range(3 + h * 5)])
    frontier.release(0, 60_000, 3)  # three in flight
    queues.rpush(queue_keys("fetch")[0], *[b"{}"] * 25)
    queues.rpush(queue_keys("tag")[0], *[b"{}"] * 7)
    urls = [f"http://127.0.0.2/screen-feeds/{n}.xml" for n in range(6)]
    assert run_sluice(env, "feeds", "add", *urls).returncode == 0
    assert run_sluice(env, "feeds", "pause", urls[0]).returncode == 0

    result = run_sluice(env, "status", "--json", "--inspect-timeout", "0.2")
    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    fetch = counts["pipeline"]["stages"]["fetch"]
    waiting = counts["frontier"]["items"] - counts["frontier"]["in_flight"]
    assert (fetch["queued"], fetch["frontier"], waiting) == (25, 14 * 3 + 5 * 91 - 3, 494)
    assert "frontier" not in counts["pipeline"]["stages"]["tag"]
    assert counts["feeds"]["states"]["active"] == 5

    screen = Console(width=120, height=40, file=io.StringIO(), record=True, color_system=None)
    stamp = Text("22:13:05  every 2 s, Ctrl-C stops")  # as --watch puts above it
    screen.print(Group(stamp, render(counts)))
    lines = screen.export_text().rstrip("\n").split("\n")
    shown = "\n".join(lines)
    assert len(lines) <= 40, shown
    assert max(len(line) for line in lines) <= 120, shown
    for seen in ("all jobs", "failed", "http_404", "4 other reasons", "feeds", "paused"):
        assert seen in shown, (seen, shown)
    assert "a-very-long-host-name-of-a-regi…" in shown  # cut, and says so
    assert "hosts waiting, and why" in shown and "6 back-off" in shown
    assert "fetch backlog: 25 queued + 494 in the frontier" in shown
    fetch_row = next(line for line in lines if "│ fetch " in line)
    assert "519" in fetch_row and "no workers" in fetch_row
