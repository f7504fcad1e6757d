"""Real worker processes for the integration tests and the benchmarks, started with
``sluice worker``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from celery import Celery

from sluice.shared.db import upgrade_database
from sluice.workers.pipeline import STAGES
from tests.support.binding import bind_for_tests
from tests.support.services import RedisProvider

__all__ = [
    "Cluster",
    "interruptible",
    "run_sluice",
    "served_queues",
    "sqlite_cluster",
    "start_logged",
    "stop_processes",
]


def interruptible() -> None:
    """``preexec_fn`` for a CLI process a test will Ctrl-C: SIGINT unblocked and at its
    default, whatever this test process inherited or set (a blocked or ignored SIGINT passes
    to the child across exec, and the child then never sees its Ctrl-C)."""
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_sluice(
    env: dict[str, str],
    *args: str,
    timeout: float = 180,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the ``sluice`` CLI in a subprocess with ``env`` (in ``cwd``, else this one's)."""
    return subprocess.run(
        [sys.executable, "-m", "sluice.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
        cwd=cwd,
    )


def served_queues(redis_url: str) -> dict[str, set[str]]:
    """The queues each Celery node answering on ``redis_url`` consumes, by node name."""
    app = Celery(broker=redis_url)
    try:
        replies = app.control.inspect(timeout=0.5).active_queues() or {}
    finally:
        app.close()
    return {node: {q["name"] for q in queues} for node, queues in replies.items()}


def start_logged(
    argv: list[str], env: dict[str, str], log: Path, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a session of its own (so its whole group can be stopped), its
    output appended to ``log``."""
    with open(log, "ab") as handle:
        return subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM each process's group (each started in a session of its own), SIGKILL what
    is left after 30 s, and forget them."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    processes.clear()


class Cluster:
    """Workers for the given stages against one Redis database and one store."""

    def __init__(
        self,
        redis_url: str,
        database_url: str,
        data_dir: Path,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.env = {
            **os.environ,
            "SLUICE_REDIS_URL": redis_url,
            "SLUICE_DATABASE_URL": database_url,
            "SLUICE_DATA_DIR": str(data_dir),
            "SLUICE_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",  # the test web servers are on loopback
            # A session's store keeps items other tests left in transit on purpose (they
            # emptied the queues after looking): its workers must not send those on. The
            # fault tests, each on a store of its own, set a short lease.
            "SLUICE_ITEM_LEASE": "86400",
            **(extra_env or {}),
        }
        self.redis_url = redis_url
        self.database_url = database_url
        self.data_dir = data_dir
        if redis_url and database_url:  # one cluster, bound as `sluice cluster bind` would
            bind_for_tests(redis_url, database_url)
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[Path] = []
        self._log_of: dict[int, Path] = {}

    def start_worker(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``sluice worker ARGS`` with its output in the data directory (``env``: more
        variables for this worker only)."""
        log = self.data_dir / f"worker-{len(self._logs)}.log"
        self._logs.append(log)
        process = start_logged(
            [sys.executable, "-m", "sluice.cli.main", "worker", "--loglevel", "info", *args],
            {**self.env, **(env or {})},
            log,
        )
        self.processes.append(process)
        self._log_of[process.pid] = log
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        """Everything the worker ``process`` logged so far."""
        return self._log_of[process.pid].read_text(errors="replace")

    def wait_ready(
        self, stages: tuple[str, ...] = STAGES, timeout: float = 60, nodes: int = 1
    ) -> None:
        """Wait until at least ``nodes`` Celery workers answer and together serve ``stages``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = served_queues(self.redis_url)
            served = set().union(*replies.values())
            if len(replies) >= nodes and set(stages) <= served:
                return
            self.check_alive()
            time.sleep(0.3)
        raise TimeoutError(f"workers not ready for {stages}:\n{self.logs()}")

    def check_alive(self) -> None:
        """Raise if a worker has exited, with the workers' logs."""
        dead = [p for p in self.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a worker exited (code {dead[0].returncode}):\n{self.logs()}")

    def sluice(
        self, *args: str, timeout: float = 180, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_sluice(self.env, *args, timeout=timeout, stdin=stdin)

    def run_with(
        self, env: dict[str, str], *args: str, timeout: float = 180
    ) -> subprocess.CompletedProcess[str]:
        """Run the CLI with ``env`` instead of the cluster's own (e.g. a wider terminal)."""
        return run_sluice(env, *args, timeout=timeout)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in self._logs if p.exists())

    def stop(self) -> None:
        stop_processes(self.processes)


@contextmanager
def sqlite_cluster(
    redis_provider: RedisProvider,
    data_dir: Path,
    workers: Sequence[Sequence[str]],
    env: dict[str, str] | None = None,
    *,
    stages: tuple[str, ...] = STAGES,
    timeout: float = 60,
    release: bool = True,
) -> Iterator[Cluster]:
    """A cluster on a fresh SQLite store in ``data_dir`` and a Redis database of
    ``redis_provider``'s: one ``sluice worker ARGS`` for each of ``workers``, ready for
    ``stages`` (within ``timeout`` s) when the block starts; its workers stopped when it ends,
    and the Redis database emptied and given back unless ``release`` is false."""
    database_url = f"sqlite:///{data_dir / 'sluice.db'}"
    upgrade_database(database_url)
    redis_url = redis_provider.acquire()
    cluster = Cluster(redis_url, database_url, data_dir, extra_env=env)
    for args in workers:
        cluster.start_worker(*args)
    try:
        cluster.wait_ready(stages, timeout=timeout)
        yield cluster
    finally:
        cluster.stop()
        if release:
            redis_provider.release(redis_url)
