"""``sluice db upgrade``: apply the store's migrations."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database maintenance")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="apply pending migrations (workers also do this)")
    up.set_defaults(func=run_upgrade)


def run_upgrade(_args: argparse.Namespace) -> int:
    from sluice.shared.db import upgrade_database
    from sluice.shared.settings import get_settings

    upgrade_database()
    print(f"database is up to date: {get_settings().effective_database_url}")
    return 0
