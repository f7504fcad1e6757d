"""What the loopback-site benchmarks (feeds, watched sections, site crawl) share around
their own measuring: the service options, a run in a temporary directory that unwinds on
SIGTERM or Ctrl-C and reports its figures, the publishing and grace loops over a running
cluster, the feed interval settings, and how a figure is rounded and printed."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.crawl_run import progress
from benchmarks.stats import percentile
from tests.support.cluster import Cluster

__all__ = [
    "add_feed_interval_options",
    "add_service_options",
    "feed_settings",
    "fmt",
    "pair",
    "publish_for",
    "report_run",
    "seconds_at",
    "wait_until",
]

Figures = dict[str, Any]


def pair(text: str) -> tuple[float, float]:
    """``LOW,HIGH`` seconds (or one number for both), 0 < LOW <= HIGH."""
    low, _, high = text.partition(",")
    pair = (float(low), float(high or low))
    if not 0 < pair[0] <= pair[1]:
        raise argparse.ArgumentTypeError("give LOW,HIGH seconds, 0 < LOW <= HIGH")
    return pair


def add_service_options(p: argparse.ArgumentParser) -> None:
    """``--redis-url``, ``--database-url`` and ``--json``."""
    p.add_argument("--redis-url", default=None, help="Redis server (default: as the tests')")
    p.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server to create a fresh store on (default: a new SQLite file)",
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")


def add_feed_interval_options(p: argparse.ArgumentParser) -> None:
    """``--interval``, ``--min-interval``, ``--max-interval`` and ``--host-rate``: the
    settings :func:`feed_settings` passes on (the product's defaults when not given)."""
    p.add_argument("--interval", type=float, help="SLUICE_FEED_INTERVAL (default 900 s)")
    p.add_argument("--min-interval", type=float, help="SLUICE_FEED_MIN_INTERVAL (default 300 s)")
    p.add_argument("--max-interval", type=float, help="SLUICE_FEED_MAX_INTERVAL (default 86400)")
    p.add_argument("--host-rate", type=float, help="SLUICE_FETCH_HOST_RATE (default 1/s)")


def feed_settings(args: argparse.Namespace) -> dict[str, str]:
    """The ``SLUICE_FEED_*`` intervals and the host rate the options give, as variables."""
    env: dict[str, str] = {}
    for name, value in (
        ("SLUICE_FEED_INTERVAL", args.interval),
        ("SLUICE_FEED_MIN_INTERVAL", args.min_interval),
        ("SLUICE_FEED_MAX_INTERVAL", args.max_interval),
        ("SLUICE_FETCH_HOST_RATE", args.host_rate),
    ):
        if value is not None:
            env[name] = f"{value:g}"
    return env


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT unwind as KeyboardInterrupt, so workers and servers stop."""

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def report_run(
    args: argparse.Namespace,
    prefix: str,
    run: Callable[[argparse.Namespace, Path], Figures],
    render: Callable[[Figures], str],
    passed: Callable[[Figures], bool],
) -> int:
    """``run(args, work_dir)`` in a temporary directory, its figures printed (and written to
    ``--json``): 0 when they ``passed``, 1 when not or when the run failed, 130 when it was
    interrupted."""
    _stop_on_signals()
    try:
        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            data = run(args, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted: workers and servers stopped", file=sys.stderr)
        return 130
    except (RuntimeError, TimeoutError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    print(render(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return 0 if passed(data) else 1


def publish_for(
    cluster: Cluster, t0: float, seconds: float, running: Callable[[float], str]
) -> None:
    """Watch the workers until ``seconds`` after ``t0``, printing ``running(elapsed)`` every
    30 s."""
    end, last_report = t0 + seconds, t0
    while time.time() < end:
        cluster.check_alive()
        time.sleep(min(1.0, max(0.0, end - time.time())))
        if time.time() - last_report >= 30:
            last_report = time.time()
            progress(running(last_report - t0))


def wait_until(cluster: Cluster, seconds: float, done: Callable[[], bool]) -> None:
    """Watch the workers until ``done()`` (asked every 2 s) or ``seconds`` have passed."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        cluster.check_alive()
        if done():
            break
        time.sleep(2)


def seconds_at(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` percentile of ``values``, to a tenth; ``None`` for no values."""
    value = percentile(values, fraction)
    return None if value is None else round(value, 1)


def fmt(value: Any, unit: str = "") -> str:
    """A figure for the text report: ``-`` for none."""
    return "-" if value is None else f"{value:g}{unit}"
