"""What a cluster's worker processes cost, read from ``/proc``: CPU time and memory, by kind
of process (the ``sluice worker`` supervisor, a Celery worker, a prefork pool process)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.cluster import Cluster

__all__ = [
    "POOL_PROCESS",
    "ProcessWatch",
    "descendants",
    "describe",
    "memory_of",
    "process_cpu_seconds",
]

POOL_PROCESS = "pool process"


def _children() -> dict[int, list[int]]:
    """Every process's children, from ``/proc/<pid>/stat``."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: fields after its ")" are fixed.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def descendants(pid: int) -> list[int]:
    """Every process under ``pid``, children first, in new sessions too."""
    tree, found = _children(), []
    todo = list(tree.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(tree.get(child, []))
    return found


def _kib(pid: int, *files: str) -> dict[str, int]:
    """The ``Name: N kB`` lines of ``/proc/<pid>/<file>`` (empty once the process is gone)."""
    kib: dict[str, int] = {}
    try:
        lines = [
            line for name in files for line in Path(f"/proc/{pid}/{name}").read_text().splitlines()
        ]
    except OSError:
        return kib
    for line in lines:
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            kib[parts[0].rstrip(":")] = int(parts[1])
    return kib


def memory_of(pid: int) -> dict[str, int] | None:
    """RSS, PSS, USS and peak RSS of ``pid`` in MiB (``None`` once it is gone)."""
    kib = _kib(pid, "smaps_rollup", "status")
    if not kib:
        return None
    return {
        "rss": kib["Rss"] // 1024,
        "pss": kib["Pss"] // 1024,
        "uss": (kib["Private_Clean"] + kib["Private_Dirty"]) // 1024,
        "peak": kib["VmHWM"] // 1024,
    }


def process_cpu_seconds(pid: int, *, waited_children: bool = True) -> float:
    """CPU time of ``pid`` (user + system), with that of the children it has waited for
    unless ``waited_children`` is false."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
    counted = fields[11:15] if waited_children else fields[11:13]
    return sum(int(v) for v in counted) / os.sysconf("SC_CLK_TCK")


def describe(pid: int) -> str:
    """A short name for a worker process: the supervisor, or a Celery worker and its queues."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    if "sluice.cli.main" in words:
        return "sluice worker (supervisor)"
    if "-Q" in words:
        pool = words[words.index("--pool") + 1] if "--pool" in words else "?"
        return f"celery {pool} -Q {words[words.index('-Q') + 1]}"
    return "?"


class ProcessWatch:
    """A cluster's processes (its ``sluice worker`` processes and their descendants), each
    named in ``labels`` when first seen, with the peak RSS seen of each (KiB)."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.labels: dict[int, str] = {}
        self.peak_rss: dict[int, int] = {}

    def pids(self) -> list[int]:
        children = _children()
        return [
            pid
            for process in self.cluster.processes
            if process.poll() is None
            for pid in self.tree(process.pid, children)
        ]

    def tree(self, root: int, children: dict[int, list[int]] | None = None) -> list[int]:
        """``root`` and its descendants."""
        children = _children() if children is None else children
        found: list[int] = []
        pending = [(root, "")]
        while pending:
            pid, parent_label = pending.pop()
            if pid not in self.labels:
                # A pool process runs its Celery worker's command line: name it by its parent.
                forked = parent_label.startswith("celery ")
                self.labels[pid] = POOL_PROCESS if forked else describe(pid)
            found.append(pid)
            pending.extend((child, self.labels[pid]) for child in children.get(pid, []))
        return found

    def sample_rss(self) -> int:
        """Record each process's resident memory, keeping the peak; the total now (KiB)."""
        total = 0
        for pid in self.pids():
            rss = _kib(pid, "status").get("VmRSS")
            if rss is None:
                continue
            self.peak_rss[pid] = max(rss, self.peak_rss.get(pid, 0))
            total += rss
        return total

    def cpu_seconds(self) -> float:
        """CPU time used so far by every process of the cluster."""
        return sum(process_cpu_seconds(pid) for pid in self.pids())

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU time used so far, by kind of process (:func:`describe`); pool processes that
        were replaced (and waited for) count as pool processes too."""
        kinds: dict[str, float] = {}
        for pid in self.pids():
            own = process_cpu_seconds(pid, waited_children=False)
            reaped = process_cpu_seconds(pid) - own
            for kind, seconds in ((self.labels[pid], own), (POOL_PROCESS, reaped)):
                kinds[kind] = kinds.get(kind, 0.0) + seconds
        return kinds
