"""``sluice up`` stops cleanly: Ctrl-C at any moment, a hung worker, a port already taken.

Each run carries a marker in its environment, which every process it starts inherits (the
workers, their pool processes, Flower, the embedded Valkey); after ``sluice up`` has exited,
no process on the machine may still carry it.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.cluster import run_sluice

pytestmark = pytest.mark.integration

GRACE = 5.0
# Workers, then Flower, each within GRACE, then Valkey; plus the interpreter's own exit.
STOP_BOUND = 3 * GRACE + 15
# SLUICE_UP_STOP_ROUNDS=20 runs the twenty; the suite runs fewer, as each costs a start.
ROUNDS = int(os.environ.get("SLUICE_UP_STOP_ROUNDS", "6"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _marked(marker: str) -> list[int]:
    """Processes whose environment carries ``marker``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(int(entry))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


def _start_up(tmp_path: Path, marker: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SLUICE_TEST_UP_MARKER": marker,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_DATABASE_URL": f"sqlite:///{tmp_path / 'sluice.db'}",
    }
    env.pop("SLUICE_REDIS_URL", None)
    command = [sys.executable, "-m", "sluice.cli.main", "up", "--no-demo", "--embedded-redis"]
    command += ["--flower-port", str(_free_port()), "--stop-grace", str(GRACE)]
    # A session of its own, so that SIGINT can go to its whole group as a terminal sends it.
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _interrupt_and_check(process: subprocess.Popen[str], marker: str) -> None:
    sent = time.monotonic()
    os.killpg(process.pid, signal.SIGINT)
    try:
        out, err = process.communicate(timeout=STOP_BOUND + 30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        for pid in _marked(marker):
            os.kill(pid, signal.SIGKILL)
        raise
    took = time.monotonic() - sent
    assert took < STOP_BOUND, f"stopped after {took:.1f} s\n{out}{err}"
    assert "Traceback" not in err, err
    deadline = time.monotonic() + 3  # killed processes are reaped by sluice up before it exits
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = _marked(marker)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"left behind: {left}\n{out}{err}"


@pytest.mark.timeout(ROUNDS * 90 + 60)
def test_ctrl_c_at_random_moments_leaves_no_process(tmp_path: Path) -> None:
    seed = int(os.environ.get("SLUICE_UP_STOP_SEED", str(random.randrange(1 << 30))))
    moments = random.Random(seed)
    for round_ in range(ROUNDS):
        marker = uuid.uuid4().hex
        process = _start_up(tmp_path / f"round-{round_}", marker)
        # From the first instant to a while after the workers are up (about 10 s here).
        time.sleep(moments.uniform(0.0, 15.0))
        _interrupt_and_check(process, f"SLUICE_TEST_UP_MARKER={marker}")
    print(f"{ROUNDS} rounds, seed {seed}")


@pytest.mark.timeout(240)
def test_a_hung_worker_is_killed_within_the_bound(tmp_path: Path) -> None:
    """A worker that does not react to SIGTERM (stopped here with SIGSTOP) costs the grace
    period, then is killed with its pool processes: nothing is left."""
    marker = uuid.uuid4().hex
    process = _start_up(tmp_path, marker)
    assert process.stdout is not None
    for line in process.stdout:  # up when it says so
        if "being served" in line:
            break
    workers = [pid for pid in _children(process.pid) if b"worker" in _cmdline(pid)]
    assert workers, "no worker process found"
    for pid in workers:
        for hung in (pid, *_children(pid)):
            os.kill(hung, signal.SIGSTOP)
    _interrupt_and_check(process, f"SLUICE_TEST_UP_MARKER={marker}")


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""


def test_a_taken_port_is_one_line_and_a_failure(tmp_path: Path) -> None:
    env = {**os.environ, "SLUICE_DATA_DIR": str(tmp_path)}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        results = {
            "up": run_sluice(env, "up", "--no-demo", "--flower-port", port, timeout=60),
            "flower": run_sluice(env, "flower", "--port", port, timeout=60),
            "metrics": run_sluice(env, "metrics", "--port", port, timeout=60),
        }
    for command, result in results.items():
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and f"port {port}" in lines[0], (command, result.stderr)
