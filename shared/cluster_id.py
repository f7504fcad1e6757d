"""Whether a Redis and a store are one cluster, decided from the ids they carry.

A cluster is one Redis and one store, bound by an id written in both (the Redis key
:data:`CLUSTER_KEY`, the one row of the store's ``cluster`` table). Every process checks at
start that the two ids are the same (:func:`refusal`); only an explicit step binds
(:func:`plan_binding`). This module only decides; :mod:`shared.cluster_binding` reads and
writes the ids.
"""

from __future__ import annotations

import enum
import secrets

from sluice.shared.broker_url import mask_url

__all__ = ["CLUSTER_KEY", "EXIT_CLUSTER", "Plan", "new_cluster_id", "plan_binding", "refusal"]

CLUSTER_KEY = "sluice-cluster"  # outside "sluice:", the state that gets cleared
EXIT_CLUSTER = 10  # the exit code of a process refused for it (cli.errors documents it)

_REBIND = "or re-bind on purpose with 'sluice cluster bind --force'"


class Plan(enum.Enum):
    """What a binding step does with the two ids it found."""

    KEEP = "keep"  # already one cluster
    NEW = "new"  # write a new id into both
    ADOPT = "adopt"  # write the store's id into a Redis this process has just started
    REFUSE = "refuse"  # bound elsewhere: only --force re-binds


def new_cluster_id() -> str:
    """A fresh cluster id: 16 hex digits, random."""
    return secrets.token_hex(8)


def refusal(
    redis_id: str | None, store_id: str | None, redis_url: str, store_url: str
) -> str | None:
    """The one line refusing to work on this Redis and store, or ``None`` when they carry
    the same id. Both URLs are named, their passwords masked."""
    if redis_id is not None and redis_id == store_id:
        return None
    redis_at = f"Redis at {mask_url(redis_url)}"
    store_at = f"the store at {mask_url(store_url)}"
    if redis_id is None and store_id is None:
        return (
            f"{redis_at} and {store_at} are bound to no cluster yet: bind them once with "
            "'sluice db upgrade' (or 'sluice cluster bind')"
        )
    if store_id is None:
        return (
            f"{store_at} belongs to no cluster, while {redis_at} is bound to cluster "
            f"{redis_id} with another store: point SLUICE_DATABASE_URL at that cluster's "
            f"store, {_REBIND}"
        )
    if redis_id is None:
        return (
            f"{redis_at} belongs to no cluster, while {store_at} is bound to cluster "
            f"{store_id} with another Redis: point SLUICE_REDIS_URL at that cluster's Redis, "
            f"{_REBIND}"
        )
    return (
        f"{redis_at} belongs to cluster {redis_id} and {store_at} to cluster {store_id}: "
        f"they are not one cluster; point SLUICE_REDIS_URL and SLUICE_DATABASE_URL at one "
        f"cluster's, {_REBIND}"
    )


def plan_binding(
    redis_id: str | None, store_id: str | None, force: bool = False, redis_is_new: bool = False
) -> Plan:
    """What binding this Redis and this store does.

    A new cluster is made only of a Redis and a store that are both unbound; a store bound
    elsewhere, or a Redis bound to another store, is never taken over, except with
    ``force``, which writes a new id into both (whatever else carried the old one is cut
    off). ``redis_is_new``: the Redis was started empty by this very process (``sluice up``'s
    embedded Valkey), so it takes the store's id.
    """
    if force:
        return Plan.NEW
    if redis_id is not None and redis_id == store_id:
        return Plan.KEEP
    if redis_id is None and store_id is None:
        return Plan.NEW
    if redis_id is None and redis_is_new:
        return Plan.ADOPT
    return Plan.REFUSE
