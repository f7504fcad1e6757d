"""Settings with a format are parsed when a process starts: a bad one stops it in one line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sluice.cli.main import EXIT_BAD_SETTING

BAD = [
    ("SLUICE_FETCH_ALLOW_NETWORKS", "10.0.0.0/33"),
    ("SLUICE_FETCH_ALLOW_NETWORKS", "127.0.0.0/8, not-a-network"),
    ("SLUICE_REDIS_URL", "http://127.0.0.1:6379/0"),
    ("SLUICE_REDIS_URL", "redis://127.0.0.1:port/0"),
    ("SLUICE_DATABASE_URL", "nonsense"),
    ("SLUICE_FETCH_MAX_BYTES", "10MB"),
    ("SLUICE_FETCH_READ_TIMEOUT", "-1"),
    ("SLUICE_ROBOTS_TTL", "-5"),
    ("SLUICE_QUEUE_ORDER", "random"),
    ("SLUICE_CHAIN_STAGES", "some"),
    ("SLUICE_FETCH_CONTENT_TYPES", "text/html,html"),
    ("SLUICE_EXPAND_MAX_DEPTH", "-1"),
]


@pytest.mark.parametrize("command", ["worker", "up", "flower", "metrics"])
@pytest.mark.parametrize(("variable", "value"), BAD)
def test_a_bad_setting_stops_the_process_naming_it(command: str, variable: str, value: str) -> None:
    env = {**os.environ, variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "sluice.cli.main", command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_BAD_SETTING
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in result.stderr, lines
