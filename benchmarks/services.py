"""What the distributed run needs around it: a Redis database of its own, a fresh store,
and ``sluice worker`` processes, each stopped again however the run ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from benchmarks.corpus import REPO
from shared.db.engine import get_engine
from shared.embedded_redis import EmbeddedRedis, redis_answers, resolve_redis_url
from tests.support.redis_reservations import release, reserve

__all__ = ["WorkerGroup", "fresh_store", "isolated_redis", "process_cpu_seconds"]

# Test sessions reserve Redis databases the same way: neither takes the other's tasks or data.
_RESERVE_SECONDS = 6 * 3600


def _server_base(url: str) -> str:
    """``url`` without its database number."""
    base = url.rstrip("/")
    head, _, tail = base.rpartition("/")
    return head if tail.isdigit() and head.count("/") >= 2 else base


def _reserve(base: str, token: str) -> tuple[redis.Redis, int] | None:
    """Reserve a free database on the server at ``base`` (from 15 down: tests go up)."""
    return reserve(base, token, _RESERVE_SECONDS, databases=range(15, 0, -1))


@contextlib.contextmanager
def isolated_redis(redis_url: str | None, data_dir: Path) -> Iterator[str]:
    """The URL of an emptied Redis database (1-15) reserved for this run.

    The server is ``redis_url`` when given, else the one ``sluice up`` would use; when that
    has no free database (test sessions reserve them the same way), or when nothing answers,
    an embedded Valkey server is started for the run. The database is emptied at the end.
    """
    embedded: EmbeddedRedis | None = None
    reserved: tuple[redis.Redis, int] | None = None
    token = uuid.uuid4().hex
    try:
        if redis_url:
            if not redis_answers(redis_url):
                raise RuntimeError(f"no Redis answers at {redis_url}")
            server = redis_url
        else:
            server, embedded = resolve_redis_url(data_dir / "valkey")
        base = _server_base(server)
        reserved = _reserve(base, token)
        if reserved is None and not redis_url and embedded is None:
            embedded = EmbeddedRedis(data_dir=data_dir / "valkey")
            base = _server_base(embedded.url)
            reserved = _reserve(base, token)
        if reserved is None:
            raise RuntimeError(f"no free Redis database (1-15) on {base}")
        yield f"{base}/{reserved[1]}"
    finally:
        if reserved is not None:
            release(reserved[0], token)
        if embedded is not None:
            embedded.stop()


@contextlib.contextmanager
def fresh_store(database_url: str | None, work_dir: Path, keep: bool) -> Iterator[str]:
    """A store nothing else uses: a new SQLite file in ``work_dir``, or, for a PostgreSQL
    ``database_url``, a new database on that server (dropped afterwards unless ``keep``)."""
    if not database_url:
        yield f"sqlite:///{work_dir / 'sluice.db'}"
        return
    admin_url = make_url(database_url)
    if admin_url.get_backend_name() != "postgresql":
        raise ValueError("--database-url takes a PostgreSQL URL; SQLite is the default")
    name = f"sluice_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        get_engine(url).dispose()
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _children() -> dict[int, list[int]]:
    """Every process's children, from ``/proc/<pid>/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: fields after its ")" are fixed.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def _rss_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


POOL_PROCESS = "pool process"


def process_cpu_seconds(pid: int, *, waited_children: bool = True) -> float:
    """CPU time of ``pid`` (user + system), with that of the children it has waited for
    unless ``waited_children`` is false."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
    counted = fields[11:15] if waited_children else fields[11:13]
    return sum(int(v) for v in counted) / os.sysconf("SC_CLK_TCK")


def _describe(pid: int) -> str:
    """A short name for a worker process: the supervisor, or a Celery worker and its
    queues."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = handle.read().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if "cli.main" in words:
        return "sluice worker (supervisor)"
    if "-Q" in words:
        pool = words[words.index("--pool") + 1] if "--pool" in words else "?"
        return f"celery {pool} -Q {words[words.index('-Q') + 1]}"
    return "?"


class WorkerGroup:
    """``sluice worker`` processes (``python -m cli.main worker``), each in its own session
    so that stopping them reaches their Celery children too."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.peak_rss: dict[int, int] = {}
        self.labels: dict[int, str] = {}

    def start(self, *args: str) -> None:
        log = self.log_dir / f"worker-{len(self.processes)}.log"
        with open(log, "ab") as handle:
            self.processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "cli.main", "worker", *args],
                    cwd=REPO,
                    env=self.env,
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def check_alive(self) -> None:
        dead = [p for p in self.processes if p.poll() is not None]
        if dead:
            raise RuntimeError(f"a worker exited (code {dead[0].returncode}):\n{self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        logs = sorted(self.log_dir.glob("worker-*.log"))
        return "\n".join(p.read_text(errors="replace")[-chars:] for p in logs)

    def pids(self) -> list[int]:
        """Every process of the group: the ``sluice worker`` processes and their descendants
        (each named in ``labels`` the first time it is seen)."""
        children = _children()
        found: list[int] = []
        pending = [(p.pid, "") for p in self.processes if p.poll() is None]
        while pending:
            pid, parent_label = pending.pop()
            if pid not in self.labels:
                # A pool process runs its Celery worker's command line: name it by its parent.
                forked = parent_label.startswith("celery ")
                self.labels[pid] = POOL_PROCESS if forked else _describe(pid)
            found.append(pid)
            pending.extend((child, self.labels[pid]) for child in children.get(pid, []))
        return found

    def sample_rss(self) -> int:
        """Record each worker process's resident memory, keeping the peak; the total now."""
        total = 0
        for pid in self.pids():
            rss = _rss_kib(pid)
            if rss is None:
                continue
            self.peak_rss[pid] = max(rss, self.peak_rss.get(pid, 0))
            total += rss
        return total

    def cpu_seconds(self) -> float:
        """CPU time used so far by every process of the group."""
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU time used so far, by kind of process (:func:`_describe`); pool processes that
        were replaced (and waited for) count as pool processes too."""
        kinds: dict[str, float] = {}
        for pid in self.pids():
            own = process_cpu_seconds(pid, waited_children=False)
            reaped = process_cpu_seconds(pid) - own
            for kind, seconds in ((self.labels[pid], own), (POOL_PROCESS, reaped)):
                kinds[kind] = kinds.get(kind, 0.0) + seconds
        return kinds

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to each group (a warm shutdown), then SIGKILL to what is left."""
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
