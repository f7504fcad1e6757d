"""How long the ``sluice`` command takes to answer, against Python starting and doing nothing.

    python -m benchmarks.cli_start [--runs 10] [--sluice .venv/bin/sluice]

Runs each command ``--runs`` times in a row, after one untimed run that warms the disk
cache, and prints the median, the fastest and the slowest wall-clock time of each. The
commands: a bare ``python -c pass`` (the floor), ``sluice --version``, ``sluice --help``,
``sluice submit --help``, ``sluice status --json`` and ``sluice articles list``. The last
two read the store and Redis named by ``SLUICE_*`` (a small store is what the figures in
the README were taken on); a command that fails is reported with its exit code.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["COMMANDS", "main", "time_command"]

COMMANDS: list[tuple[str, ...]] = [
    ("--version",),
    ("--help",),
    ("submit", "--help"),
    ("status", "--json"),
    ("articles", "list"),
]


def time_command(argv: list[str], runs: int) -> tuple[list[float], int]:
    """Wall-clock seconds of ``runs`` runs of ``argv`` (after one to warm up), and the exit
    code of the last."""
    code = 0
    times: list[float] = []
    for n in range(runs + 1):
        start = time.perf_counter()
        code = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        if n:
            times.append(time.perf_counter() - start)
    return times, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sluice", default=str(Path(sys.executable).parent / "sluice"))
    args = parser.parse_args(argv)
    rows = [("python -c pass", [sys.executable, "-c", "pass"])]
    rows += [(" ".join(("sluice", *c)), [args.sluice, *c]) for c in COMMANDS]
    floor = None
    print(f"{'command':28} {'median':>8} {'min':>8} {'max':>8} {'- python':>9}  exit")
    for name, command in rows:
        times, code = time_command(command, args.runs)
        median = statistics.median(times)
        floor = median if floor is None else floor
        print(
            f"{name:28} {median:8.3f} {min(times):8.3f} {max(times):8.3f} "
            f"{median - floor:9.3f}  {code}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
