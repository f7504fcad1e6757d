"""``sluice metrics``: the pipeline's Prometheus exporter (queue depths, items, latency…).

Serves ``/metrics`` over HTTP until stopped. Like Flower's ``/metrics`` it asks for no
credentials; it binds loopback by default and compose keeps it on the internal network.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

__all__ = ["DEFAULT_PORT", "add_parser", "run"]

DEFAULT_PORT = 9808


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "metrics",
        help="serve pipeline metrics for Prometheus",
        description="Serve /metrics in Prometheus format: queue depth per stage, items per "
        "state and reason, duplicate ratio, fetch outcomes per host, stage latency, "
        "articles stored. Flower's own /metrics covers workers and task events.",
    )
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument(
        "--public",
        action="store_true",
        help="needed to bind anything but loopback: the figures carry no credentials check",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from prometheus_client import start_http_server

    from sluice.cli.flower import is_loopback

    if not is_loopback(args.address) and not args.public:
        print(
            f"sluice metrics: refusing to serve on {args.address or 'every address'} without "
            "--public: anyone who reaches it sees the pipeline's figures and host names",
            file=sys.stderr,
        )
        return 2

    from sluice.cli.services import port_taken

    if port_taken(args.address, args.port):
        print(f"sluice metrics: port {args.port} is taken on {args.address}", file=sys.stderr)
        return 2

    from sluice.shared.metrics.exporter import build_registry
    from sluice.shared.metrics.latency import StageLatency
    from sluice.shared.metrics.store_figures import CachedStoreFigures
    from sluice.shared.redis_state import get_redis
    from sluice.shared.settings import get_settings
    from sluice.workers.celery import app
    from sluice.workers.pipeline import STAGES

    settings = get_settings()
    registry = build_registry(
        get_redis(),
        STAGES,
        CachedStoreFigures(settings.metrics_cache_seconds),
        settings.metrics_top_hosts,
        settings.metrics_cache_seconds,
    )
    latency = StageLatency(app, STAGES, registry)
    server, _thread = start_http_server(args.port, args.address, registry=registry)

    stopped_by: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        stopped_by.append(signum)
        latency.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"sluice metrics: http://{args.address}:{args.port}/metrics", file=sys.stderr)
    try:
        latency.run()  # until a signal stops it
    finally:
        server.shutdown()
    if signal.SIGINT in stopped_by:
        raise KeyboardInterrupt  # Ctrl-C: one line and 130, as for every command (cli.errors)
    return 0
