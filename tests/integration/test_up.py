"""``sluice up``: the one command that runs the main job, and the embedded Redis it can start."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from sluice.shared.embedded_redis import EmbeddedRedis, redis_answers
from tests.support.cluster import run_sluice
from tests.support.services import RedisProvider

pytestmark = pytest.mark.integration


def test_up_runs_the_demo_end_to_end(redis_provider: RedisProvider, tmp_path: Path) -> None:
    """Workers for every stage, the sample site, its feed and a resubmission: one original."""
    redis_url = redis_provider.acquire()
    env = {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_DATABASE_URL": f"sqlite:///{tmp_path / 'sluice.db'}",
        "COLUMNS": "200",  # the summary's rows on one line each
    }
    try:
        result = run_sluice(env, "up", "--demo-only", "--no-flower", timeout=280)
    finally:
        redis_provider.release(redis_url)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output + _logs(tmp_path)
    assert "workers: fetch, extract, dedup, tag, store are being served" in output
    # The feed's two layouts of one article, and that article once more.
    assert "states: duplicate=2, stored=1" in output, output
    # The summary names every item with its final state.
    rows = [line for line in result.stdout.splitlines() if re.match(r"│ \d+ +│ http", line)]
    states = sorted(cell.strip() for row in rows for cell in row.split("│")[3:4])
    assert states == ["duplicate", "duplicate", "stored"], result.stdout


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
