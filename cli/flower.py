"""``sluice flower``: Flower, watching this pipeline's workers."""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["add_parser", "flower_command", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "flower",
        help="run Flower, the Celery monitor",
        description="Run Flower on this pipeline ('celery -A workers flower' underneath).",
    )
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument("--port", type=int, default=5555)
    p.set_defaults(func=run)


def flower_command(address: str = "127.0.0.1", port: int = 5555) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "workers",
        "flower",
        f"--address={address}",
        f"--port={port}",
    ]


def run(args: argparse.Namespace) -> int:
    command = flower_command(args.address, args.port)
    os.execv(command[0], command)
    return 0  # not reached
