"""``sluice worker``: Celery workers for some or all stages, each on a pool that suits it.

Fetch is I/O-bound and runs on a thread pool with many slots; the other stages are
CPU-bound and run on prefork, one process per core. Asking for both starts one Celery
worker for each kind and supervises them: a signal to this process reaches both, and if
one exits the other is stopped.

Node names are stable: ``<stages>@<host>`` (``fetch@host``, ``extract-dedup-tag-store@host``),
with ``--name`` as a prefix. A worker restarted on the same machine for the same stages is
the same node to Flower and to Celery's control commands, so no offline twin lingers.
Node names must be unique in a cluster: each worker leases its name in Redis at start and
stops (exit 2, one line) when a live worker holds it (``workers.membership.node_names``), and
``sluice worker`` reads the leases before it starts any: give the second one ``--name``.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from sluice.workers.pipeline import STAGES, Pool, by_pool

__all__ = ["add_parser", "celery_worker_commands", "node_names", "run"]


def _stages(value: str) -> list[str]:
    stages = [s.strip() for s in value.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown or not stages:
        raise argparse.ArgumentTypeError(
            f"unknown stage(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(STAGES)}"
        )
    return stages


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "worker",
        help="run workers for some or all stages",
        description="Run Celery workers. Fetch runs on threads, the CPU stages on prefork. "
        "Equivalent to e.g. 'celery -A workers worker -Q extract,dedup,tag,store'.",
    )
    p.add_argument(
        "--stages",
        type=_stages,
        default=list(STAGES),
        help=f"comma-separated subset of {','.join(STAGES)} (default: all)",
    )
    p.add_argument(
        "--concurrency",
        "-c",
        type=int,
        default=None,
        help="slots: threads for a fetch-only worker, else processes per CPU worker",
    )
    p.add_argument(
        "--fetch-concurrency",
        type=int,
        default=None,
        help="threads for fetch when it runs beside CPU stages (default SLUICE_FETCH_CONCURRENCY)",
    )
    p.add_argument("--loglevel", "-l", default="info")
    p.add_argument(
        "--name",
        default=None,
        help="node name prefix, for a second worker of the same stages on one machine "
        "(default: none; names are <stages>@<host>)",
    )
    p.set_defaults(func=run)


def _node(prefix: str | None, group: str) -> str:
    # The group stays in the name: two workers with one node name confuse Celery's control.
    return f"{prefix}-{group}" if prefix else group


def celery_worker_commands(
    stages: list[str],
    concurrency: int | None = None,
    fetch_concurrency: int | None = None,
    loglevel: str = "info",
    name: str | None = None,
) -> list[list[str]]:
    """The ``celery worker`` command lines that serve ``stages``: one per pool kind."""
    from sluice.shared.settings import get_settings

    settings = get_settings()
    io = by_pool(Pool.THREADS, stages)
    cpu = by_pool(Pool.PREFORK, stages)
    base = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "sluice.workers",
        "worker",
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
        "-E",
    ]
    commands = []
    if io:
        threads = (concurrency if not cpu else None) or fetch_concurrency
        commands.append(
            [
                *base,
                "-Q",
                ",".join(io),
                "--pool",
                "threads",
                "--concurrency",
                str(threads or settings.fetch_concurrency),
                "-n",
                f"{_node(name, 'fetch')}@%h",
            ]
        )
    if cpu:
        processes = concurrency or settings.worker_concurrency or os.cpu_count() or 1
        commands.append(
            [
                *base,
                "-Q",
                ",".join(cpu),
                "--pool",
                "prefork",
                "--concurrency",
                str(processes),
                "-n",
                f"{_node(name, '-'.join(cpu))}@%h",
            ]
        )
    return commands


def node_names(commands: list[list[str]]) -> list[str]:
    """The node names ``commands`` start, with ``%h`` filled in as Celery does."""
    from celery.utils.nodenames import host_format

    return [host_format(command[command.index("-n") + 1]) for command in commands]


def run(args: argparse.Namespace) -> int:
    commands = celery_worker_commands(
        args.stages, args.concurrency, args.fetch_concurrency, args.loglevel, args.name
    )
    from sluice.shared.redis_state import get_redis

    client = get_redis()
    client.ping()  # an unreachable Redis: one line and exit 5 (cli.errors), not a hang
    from sluice.workers.membership.node_names import refuse_taken_name

    for name in node_names(commands):  # before any worker process starts; each takes its own
        refuse_taken_name(client, name)
    if len(commands) == 1:
        os.execv(commands[0][0], commands[0])
    return supervise(commands)


def supervise(commands: list[list[str]]) -> int:
    """Run ``commands`` side by side until one exits or this process is told to stop."""
    children = [subprocess.Popen(cmd) for cmd in commands]

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, forward)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        forward(signal.SIGTERM, None)
        for child in children:
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
    return max(child.returncode or 0 for child in children)
