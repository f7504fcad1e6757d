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
    from sluice.cli.errors import mask_url
    from sluice.cli.output import console, cut, text
    from sluice.shared.db import upgrade_database
    from sluice.shared.settings import get_settings

    where = mask_url(get_settings().effective_database_url)
    applied = upgrade_database()
    if not applied:
        console.print(text(f"nothing to do: {where} already has every migration"))
        return 0
    console.print(text(f"applied {len(applied)} migration(s) to {where}:"))
    for migration in applied:
        console.print(text(f"  {migration.revision}  {cut(migration.doc, 70)}"))
    console.print(text("database is up to date"))
    return 0
