"""``sluice db upgrade``: apply the store's migrations, and bind the store and Redis into a
cluster when neither is bound yet (:mod:`shared.cluster_id`)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="database maintenance")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "upgrade",
        help="apply pending migrations (workers also do this), and bind a new cluster",
        description="Apply pending migrations, then bind SLUICE_REDIS_URL and the store into "
        "a new cluster when both are unbound (a store or Redis bound elsewhere is refused, "
        "exit 10: see 'sluice cluster bind --force').",
    )
    up.set_defaults(func=run_upgrade)


def run_upgrade(args: argparse.Namespace) -> int:
    from sluice.cli.errors import EXIT_CLUSTER, mask_url, report
    from sluice.cli.output import console, cut, text
    from sluice.shared.cluster_binding import bind
    from sluice.shared.cluster_id import Plan
    from sluice.shared.db import upgrade_database
    from sluice.shared.settings import get_settings

    settings = get_settings()
    where = mask_url(settings.effective_database_url)
    applied = upgrade_database()
    if not applied:
        console.print(text(f"nothing to do: {where} already has every migration"))
    else:
        console.print(text(f"applied {len(applied)} migration(s) to {where}:"))
        for migration in applied:
            console.print(text(f"  {migration.revision}  {cut(migration.doc, 70)}"))
        console.print(text("database is up to date"))
    bound = bind(settings.redis_url, settings.effective_database_url)
    if bound.problem is not None:
        return report(args, EXIT_CLUSTER, "cluster_mismatch", bound.problem)
    if bound.plan is Plan.KEEP:
        console.print(text(f"cluster {bound.cluster_id}: Redis and the store are bound"))
    else:
        console.print(text(f"new cluster {bound.cluster_id}: Redis and the store bound"))
    return 0
