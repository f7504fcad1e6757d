"""``sluice flower``: Flower, watching this pipeline's workers.

Flower listens on loopback by default. Anywhere else it shows every task of the cluster to
whoever reaches it, so it starts only with basic auth, whose user and password come from
``SLUICE_FLOWER_USER`` and ``SLUICE_FLOWER_PASSWORD``. They reach Flower through its own
``FLOWER_BASIC_AUTH`` variable (not the command line, where ``ps`` would show them).

Flower's ``/metrics`` (Prometheus) and ``/healthcheck`` answer without credentials even
then: they are meant for scrapers and probes.

Flower is started with ``--conf`` naming sluice's own empty config file
(:mod:`cli.flower_conf`), so a ``flowerconfig.py`` in the working directory cannot turn the
basic auth off or move the address.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sluice.shared.settings import Settings

__all__ = [
    "FlowerAuthError",
    "add_parser",
    "flower_command",
    "flower_environment",
    "is_loopback",
    "run",
]

_FLOWER_AUTH_VARIABLE = "FLOWER_BASIC_AUTH"


class FlowerAuthError(ValueError):
    """Flower would be reachable beyond this machine without (valid) credentials."""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "flower",
        help="run Flower, the Celery monitor",
        description="Run Flower on this pipeline ('celery -A workers flower' underneath). "
        "Any address but loopback needs SLUICE_FLOWER_USER and SLUICE_FLOWER_PASSWORD.",
    )
    p.add_argument("--address", default="127.0.0.1", help="address to bind (default loopback)")
    p.add_argument("--port", type=int, default=5555)
    p.set_defaults(func=run)


def is_loopback(address: str) -> bool:
    """Whether binding ``address`` keeps Flower on this machine (``""`` means every address)."""
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


# sluice's own (empty) Flower config: a stray flowerconfig.py in the cwd is never read.
FLOWER_CONF = str(Path(__file__).with_name("flower_conf.py"))


def flower_command(address: str = "127.0.0.1", port: int = 5555) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "sluice.workers",
        "flower",
        f"--address={address}",
        f"--port={port}",
        f"--conf={FLOWER_CONF}",
    ]


def flower_environment(
    address: str, settings: Settings, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment Flower runs with: ``base`` plus basic auth from ``settings``.

    Raises :class:`FlowerAuthError` when ``address`` is not loopback and no credentials are
    set, or when they cannot be passed to Flower intact.
    """
    # Only sluice's settings configure Flower: Flower reads every option from a FLOWER_*
    # variable too (FLOWER_BASIC_AUTH, FLOWER_AUTH, FLOWER_UNAUTHENTICATED_API …), and a
    # stray one would bypass the guard.
    env = {
        k: v
        for k, v in (os.environ if base is None else base).items()
        if not k.upper().startswith("FLOWER_")
    }
    user = settings.flower_user
    password = settings.flower_password.get_secret_value()
    if bool(user) != bool(password):
        raise FlowerAuthError("set both SLUICE_FLOWER_USER and SLUICE_FLOWER_PASSWORD, or neither")
    if not user:
        if not is_loopback(address):
            raise FlowerAuthError(
                f"refusing to serve Flower on {address or 'every address'} without a password: "
                "set SLUICE_FLOWER_USER and SLUICE_FLOWER_PASSWORD, or bind to 127.0.0.1"
            )
        return env
    # Flower splits the variable on commas, and a browser splits user from password at the
    # first colon.
    if ":" in user or "," in user:
        raise FlowerAuthError("SLUICE_FLOWER_USER must not contain ':' or ','")
    if "," in password:
        raise FlowerAuthError("SLUICE_FLOWER_PASSWORD must not contain ','")
    env[_FLOWER_AUTH_VARIABLE] = f"{user}:{password}"
    return env


def run(args: argparse.Namespace) -> int:
    from sluice.shared.settings import get_settings

    stray = sorted(k for k in os.environ if k.upper().startswith("FLOWER_"))
    if stray:
        print(
            f"sluice flower: ignoring {', '.join(stray)}; Flower is configured by sluice's "
            "settings only (SLUICE_FLOWER_USER and SLUICE_FLOWER_PASSWORD for its login)",
            file=sys.stderr,
        )
    try:
        env = flower_environment(args.address, get_settings())
    except FlowerAuthError as exc:
        print(f"sluice flower: {exc}", file=sys.stderr)
        return 2
    from sluice.cli.services import port_taken

    if port_taken(args.address, args.port):
        print(f"sluice flower: port {args.port} is taken on {args.address}", file=sys.stderr)
        return 2
    command = flower_command(args.address, args.port)
    os.execve(command[0], command, env)
