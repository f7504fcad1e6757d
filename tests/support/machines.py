"""Simulated machines for tests of a cluster spread over several: each has a home, a
temporary directory and a working directory of its own, sees only the ``SLUICE_*``
variables it is given, and runs its processes in process groups of their own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.cluster import run_sluice, start_logged, stop_processes

__all__ = ["Machine"]

# What a machine inherits from no one: sluice's and Celery's settings, and the per-user
# directories its default store and data directory are derived from.
_OWN = ("SLUICE_", "CELERY_", "XDG_")


class Machine:
    """One machine, ``name``, under ``root/name``: ``HOME`` and ``TMPDIR`` there, and
    ``settings`` (``SLUICE_*`` variables) as its only configuration."""

    def __init__(self, name: str, root: Path, settings: dict[str, str]) -> None:
        self.name = name
        self.root = root / name
        self.home = self.root / "home"
        self.tmp = self.root / "tmp"
        for directory in (self.home, self.tmp):
            directory.mkdir(parents=True, exist_ok=True)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(_OWN)}
        self.env = inherited | {"HOME": str(self.home), "TMPDIR": str(self.tmp), **settings}
        self.processes: list[subprocess.Popen[bytes]] = []
        self._log_of: dict[int, Path] = {}

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``python ARGS`` on this machine, in a session of its own, its output
        logged under the machine's temporary directory."""
        log = self.tmp / f"process-{len(self._log_of)}.log"
        process = start_logged([sys.executable, *args], self.env, log, cwd=self.home)
        self.processes.append(process)
        self._log_of[process.pid] = log
        return process

    def celery_worker(
        self, queues: str, node: str, pool: str, concurrency: int
    ) -> subprocess.Popen[bytes]:
        """A plain ``celery -A sluice.workers worker`` named ``node``, as an operator starts
        one on a machine of their own (the options ``sluice worker`` gives it too)."""
        return self.start(
            *("-m", "celery", "-A", "sluice.workers", "worker", "--loglevel", "info"),
            *("--without-gossip", "--without-mingle", "-E", "-Q", queues, "-n", node),
            *("--pool", pool, "--concurrency", str(concurrency)),
        )

    def sluice(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``sluice ARGS`` on this machine and wait for it."""
        return run_sluice(self.env, *args, timeout=timeout, cwd=self.home)

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        return self._log_of[process.pid].read_text(errors="replace")

    def logs(self) -> str:
        """The end of every log of this machine's processes, each under its heading."""
        return "\n".join(
            f"--- {self.name} process {pid} ---\n{path.read_text(errors='replace')[-4000:]}"
            for pid, path in self._log_of.items()
            if path.exists()
        )

    def files(self, pattern: str) -> list[Path]:
        """This machine's files matching ``pattern`` (a glob), wherever under its root."""
        return sorted(self.root.rglob(pattern))

    def stop(self) -> None:
        stop_processes(self.processes)
