"""A time limit for every benchmark: a benchmark that can hang cannot back a figure.

A benchmark's ``main`` is decorated with :func:`time_limited`, adds ``--time-limit
SECONDS`` with :func:`add_time_limit` (a default several times its usual run) and calls
:func:`arm` once it has its arguments. When the limit passes, :class:`TimeLimitExceeded`
is raised in the main thread (SIGALRM), so the benchmark unwinds as from Ctrl-C: its
workers, servers and pools are stopped by the code that started them; then ``main`` prints
one line and returns :data:`EXIT_TIME_LIMIT`. If that unwinding itself hangs (a pool process
stuck on an inherited socket, say) or the main thread is stuck where no signal handler runs,
a watchdog thread kills every process the benchmark started and exits with
:data:`EXIT_TIME_LIMIT` :data:`GRACE_SECONDS` after the limit.

A SIGTERM (``kill``, a CI runner's stop) unwinds the same way, so that the benchmark's own
``finally`` blocks stop the workers it started instead of leaving them running; the run
exits with :data:`EXIT_TERMINATED`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, ParamSpec

from benchmarks.processes import descendants

__all__ = [
    "EXIT_TERMINATED",
    "EXIT_TIME_LIMIT",
    "GRACE_SECONDS",
    "Terminated",
    "TimeLimitExceeded",
    "add_time_limit",
    "arm",
    "time_limited",
]

EXIT_TIME_LIMIT = 124  # as coreutils' timeout
EXIT_TERMINATED = 128 + signal.SIGTERM  # as a shell reports a process SIGTERM ended
GRACE_SECONDS = 60.0

_P = ParamSpec("_P")


class TimeLimitExceeded(BaseException):
    """The benchmark ran past ``--time-limit``. A BaseException, like KeyboardInterrupt, so
    that no ``except Exception`` on the way swallows it."""


class _Limit:
    """The armed limit: its length, the benchmark's name and the watchdog."""

    def __init__(self) -> None:
        self.name = "benchmark"
        self.seconds = 0.0
        self.watchdog: threading.Timer | None = None
        self.previous: Any = None


_limit = _Limit()


def add_time_limit(
    parser: argparse.ArgumentParser, default: float | None, explain: str | None = None
) -> None:
    """Add ``--time-limit SECONDS`` to ``parser``, with ``default`` (``None``: the benchmark
    works it out from its other options, as ``explain`` says)."""
    parser.add_argument(
        "--time-limit",
        type=float,
        default=default,
        metavar="SECONDS",
        help=f"end the run with a message and exit {EXIT_TIME_LIMIT} after this long "
        f"(default {explain or f'{default:g}'}; 0: no limit)",
    )


def _hard_stop() -> None:
    sys.stderr.write(
        f"{_limit.name}: time limit of {_limit.seconds:g} s passed and stopping took over "
        f"{GRACE_SECONDS:g} s more: its processes killed\n"
    )
    sys.stderr.flush()
    for pid in descendants(os.getpid()):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    os._exit(EXIT_TIME_LIMIT)


class Terminated(BaseException):
    """The benchmark got SIGTERM: unwound like Ctrl-C, so its workers are stopped."""


def _expire(_signum: int, _frame: object) -> None:
    raise TimeLimitExceeded


def _terminate(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends it at once
    raise Terminated


def arm(seconds: float | None, grace: float = GRACE_SECONDS) -> None:
    """Start the limit of the running :func:`time_limited` main: ``seconds`` from now
    (``None`` or 0: none), with the watchdog ``grace`` seconds after it."""
    if not seconds:
        return
    _limit.seconds = seconds
    # Started now, not from the handler: a main thread stuck in C code runs no handler.
    _limit.watchdog = threading.Timer(seconds + grace, _hard_stop)
    _limit.watchdog.daemon = True
    _limit.watchdog.start()
    _limit.previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


def _disarm() -> None:
    if _limit.watchdog is None:
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, _limit.previous)
    _limit.watchdog.cancel()
    _limit.watchdog = None


def time_limited(name: str) -> Callable[[Callable[_P, int]], Callable[_P, int]]:
    """Decorate a benchmark's ``main``: a :class:`TimeLimitExceeded` out of it (once it
    called :func:`arm`) becomes one line on stderr and :data:`EXIT_TIME_LIMIT`."""

    def decorate(main: Callable[_P, int]) -> Callable[_P, int]:
        @functools.wraps(main)
        def limited(*args: _P.args, **kwargs: _P.kwargs) -> int:
            _limit.name = name
            previous = signal.signal(signal.SIGTERM, _terminate)
            try:
                return main(*args, **kwargs)
            except TimeLimitExceeded:
                sys.stderr.write(
                    f"{name}: time limit of {_limit.seconds:g} s passed: run stopped "
                    "(raise it with --time-limit)\n"
                )
                return EXIT_TIME_LIMIT
            except Terminated:
                sys.stderr.write(f"{name}: stopped by SIGTERM; its processes stopped\n")
                return EXIT_TERMINATED
            finally:
                _disarm()
                signal.signal(signal.SIGTERM, previous)

        return limited

    return decorate
