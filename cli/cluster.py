"""``sluice cluster``: which cluster this machine's Redis and store belong to, and binding.

A cluster is one Redis and one store, bound by an id written in both (:mod:`shared.cluster_id`).
``show`` names both with their ids; ``bind`` makes a new cluster of an unbound Redis and
store (as ``sluice db upgrade`` does), and ``bind --force`` re-binds a pair bound elsewhere.
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "cluster",
        help="show or bind the cluster of this Redis and store",
        description="A cluster is one Redis and one store, bound by a cluster id written in "
        "both. Every command and worker checks at start that they carry the same id.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show",
        help="the cluster id of Redis and of the store (exit 10 when they differ)",
    )
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=run_show)
    bind = actions.add_parser(
        "bind",
        help="bind an unbound Redis and store into a new cluster (the store is migrated first)",
        description="Bind SLUICE_REDIS_URL and SLUICE_DATABASE_URL into one cluster. Without "
        "--force only a Redis and a store that are both unbound are bound.",
    )
    bind.add_argument(
        "--force",
        action="store_true",
        help="re-bind even when either is bound already: a new id goes into both, and "
        "whatever else carried the old one (the other Redis or store) is refused from then on",
    )
    bind.add_argument("--json", action="store_true")
    bind.set_defaults(func=run_bind)


def run_show(args: argparse.Namespace) -> int:
    from sluice.cli.errors import mask_url, report
    from sluice.cli.output import console, print_json, text
    from sluice.shared.cluster_binding import read_redis_id, read_store_id
    from sluice.shared.cluster_id import EXIT_CLUSTER, refusal
    from sluice.shared.settings import get_settings

    settings = get_settings()
    redis_url, store_url = settings.redis_url, settings.effective_database_url
    redis_id, store_id = read_redis_id(redis_url), read_store_id(store_url)
    problem = refusal(redis_id, store_id, redis_url, store_url)
    if args.json:
        print_json(
            {
                "redis": {"url": mask_url(redis_url), "cluster_id": redis_id},
                "store": {"url": mask_url(store_url), "cluster_id": store_id},
                "bound": problem is None,
            }
        )
    else:
        console.print(text(f"redis: {mask_url(redis_url)}  cluster {redis_id or '(none)'}"))
        console.print(text(f"store: {mask_url(store_url)}  cluster {store_id or '(none)'}"))
    if problem is not None:
        return report(args, EXIT_CLUSTER, "cluster_mismatch", problem)
    if not args.json:
        console.print(text(f"one cluster: {redis_id}"))
    return 0


def run_bind(args: argparse.Namespace) -> int:
    from sluice.cli.errors import report
    from sluice.cli.output import console, print_json, text
    from sluice.shared.cluster_binding import bind
    from sluice.shared.cluster_id import EXIT_CLUSTER, Plan
    from sluice.shared.db import upgrade_database
    from sluice.shared.settings import get_settings

    settings = get_settings()
    upgrade_database(settings.effective_database_url)
    bound = bind(settings.redis_url, settings.effective_database_url, force=args.force)
    if bound.problem is not None:
        return report(args, EXIT_CLUSTER, "cluster_mismatch", bound.problem)
    if args.json:
        print_json({"cluster_id": bound.cluster_id, "new": bound.plan is not Plan.KEEP})
    elif bound.plan is Plan.KEEP:
        console.print(text(f"already one cluster: {bound.cluster_id}"))
    else:
        console.print(text(f"bound Redis and the store into cluster {bound.cluster_id}"))
    return 0
