"""How long the ``sluice`` command takes to answer, against Python starting and doing nothing.

    python -m benchmarks.cli_start [--runs 10] [--before-src DIR]

Runs each command ``--runs`` times, after one untimed run that warms the disk cache (and
writes the bytecode caches), and prints the median, the fastest and the slowest wall-clock
time of each. The commands: a bare ``python -c pass`` (the floor), ``sluice --version``,
``sluice --help``, ``sluice submit --help``, ``sluice status --json`` and ``sluice articles
list``. The last two use the store and Redis named by ``SLUICE_*`` (the README's figures
were taken on a small store); a command that fails is reported with its exit code.

``--before-src DIR`` names another checkout of this repository (``git archive REV | tar
-x -C DIR``, say): each run of the installed code is then paired with one of DIR's code
(its packages put first on ``PYTHONPATH``), in turns, so that both see the same load on a
busy machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.time_limit import add_time_limit, arm, time_limited

__all__ = ["COMMANDS", "main", "time_runs"]

COMMANDS: list[tuple[str, ...]] = [
    ("--version",),
    ("--help",),
    ("submit", "--help"),
    ("status", "--json"),
    ("articles", "list"),
]
PACKAGES = ("cli", "producers", "shared", "workers")


def _once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, done.returncode


def time_runs(
    argv: list[str], envs: list[dict[str, str]], runs: int
) -> list[tuple[list[float], int]]:
    """For each environment, the seconds of ``runs`` runs of ``argv`` (taken in turns, after
    one to warm up) and the last exit code."""
    for env in envs:
        _once(argv, env)
    times: list[list[float]] = [[] for _ in envs]
    codes = [0 for _ in envs]
    for _ in range(runs):
        for n, env in enumerate(envs):
            seconds, codes[n] = _once(argv, env)
            times[n].append(seconds)
    return list(zip(times, codes, strict=True))


def _as_sluice_packages(source: Path, into: Path) -> Path:
    """A folder where ``sluice.cli`` … are ``source``'s folders, to put on PYTHONPATH."""
    (into / "sluice").mkdir()
    for package in PACKAGES:
        (into / "sluice" / package).symlink_to(source.resolve() / package)
    return into


@time_limited("cli_start")
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sluice", default=str(Path(sys.executable).parent / "sluice"))
    parser.add_argument("--before-src", type=Path, help="another checkout, timed in turns")
    add_time_limit(parser, 900)
    args = parser.parse_args(argv)
    arm(args.time_limit)
    here = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    envs = [here]
    labels = ["this code"]
    with tempfile.TemporaryDirectory() as scratch:
        if args.before_src:
            packages = _as_sluice_packages(args.before_src, Path(scratch))
            envs.insert(0, {**here, "PYTHONPATH": str(packages)})
            labels.insert(0, str(args.before_src))
        rows = [("python -c pass", [sys.executable, "-c", "pass"])]
        rows += [(" ".join(("sluice", *c)), [args.sluice, *c]) for c in COMMANDS]
        print(
            f"{'command':24} " + " | ".join(f"{label}: median (min–max), exit" for label in labels)
        )
        for name, command in rows:
            cells = [
                f"{statistics.median(t):.3f} s ({min(t):.3f}–{max(t):.3f}), {code}"
                for t, code in time_runs(command, envs, args.runs)
            ]
            print(f"{name:24} " + " | ".join(cells), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
