"""Read and write the cluster id a Redis and a store carry (:mod:`shared.cluster_id` decides).

Checking costs one ``GET`` and one ``SELECT``. Redis is read with a client of its own,
closed at once: a worker checks in its main process before its pool forks, and forked pool
processes must inherit no open broker connection.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import func, select

from sluice.shared.cluster_id import CLUSTER_KEY, Plan, new_cluster_id, plan_binding, refusal
from sluice.shared.db.engine import insert_for, read_scope, session_scope
from sluice.shared.db.schema import cluster

__all__ = [
    "Bound",
    "bind",
    "cluster_problem",
    "read_redis_id",
    "read_store_id",
    "write_store_id",
]

# Deletes the key only while it still holds the id this process wrote.
_DELETE_IF_OURS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _client(url: str, timeout: float) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def read_redis_id(url: str, timeout: float = 5.0) -> str | None:
    """The cluster id Redis at ``url`` carries, or ``None``; raises ``redis.RedisError``."""
    client = _client(url, timeout)
    try:
        value = client.get(CLUSTER_KEY)
    finally:
        client.close()
    return value.decode() if isinstance(value, bytes) else value


def read_store_id(url: str) -> str | None:
    """The cluster id the store at ``url`` carries, or ``None``; raises SQLAlchemy's
    ``DBAPIError`` when the store cannot be read (its ``cluster`` table missing included)."""
    with read_scope(url) as conn:
        value = conn.execute(select(cluster.c.cluster_id).where(cluster.c.slot == 1)).scalar()
    return None if value is None else str(value)


def cluster_problem(redis_url: str, store_url: str) -> str | None:
    """The line refusing this Redis and store (:func:`shared.cluster_id.refusal`), or
    ``None`` when they are one cluster."""
    return refusal(read_redis_id(redis_url), read_store_id(store_url), redis_url, store_url)


@dataclass(frozen=True, slots=True)
class Bound:
    """What a binding step did: its plan, the cluster id now in both (``None`` when
    refused) and the refusal line."""

    plan: Plan
    cluster_id: str | None
    problem: str | None = None


def write_store_id(store_url: str, cluster_id: str, replace: bool = True) -> str | None:
    """Write ``cluster_id`` into the store (over any other with ``replace``); the id it
    then carries."""
    with session_scope(store_url) as conn:
        row = {"slot": 1, "cluster_id": cluster_id, "bound_at": func.now()}
        insert = insert_for(conn, cluster).values(**row)
        if replace:
            statement = insert.on_conflict_do_update(
                index_elements=[cluster.c.slot],
                set_={"cluster_id": cluster_id, "bound_at": func.now()},
            )
        else:
            statement = insert.on_conflict_do_nothing(index_elements=[cluster.c.slot])
        conn.execute(statement)
        value = conn.execute(select(cluster.c.cluster_id).where(cluster.c.slot == 1)).scalar()
    return None if value is None else str(value)


def bind(redis_url: str, store_url: str, force: bool = False, redis_is_new: bool = False) -> Bound:
    """Bind Redis at ``redis_url`` and the store at ``store_url`` into one cluster, as
    :func:`shared.cluster_id.plan_binding` allows. Safe against another process binding
    either at the same moment: what is written last is checked, and a half-made binding
    undone."""
    redis_id, store_id = read_redis_id(redis_url), read_store_id(store_url)
    plan = plan_binding(redis_id, store_id, force, redis_is_new)
    if plan is Plan.KEEP:
        return Bound(plan, redis_id)
    if plan is Plan.REFUSE:
        return Bound(plan, None, refusal(redis_id, store_id, redis_url, store_url))
    client = _client(redis_url, 5.0)
    try:
        if plan is Plan.ADOPT:
            client.set(CLUSTER_KEY, str(store_id), nx=True)
        elif force:
            cluster_id = new_cluster_id()
            write_store_id(store_url, cluster_id, replace=True)
            client.set(CLUSTER_KEY, cluster_id)
        else:
            cluster_id = new_cluster_id()
            taken = bool(client.set(CLUSTER_KEY, cluster_id, nx=True))
            if taken and write_store_id(store_url, cluster_id, replace=False) != cluster_id:
                client.eval(_DELETE_IF_OURS, 1, CLUSTER_KEY, cluster_id)
    finally:
        client.close()
    redis_id, store_id = read_redis_id(redis_url), read_store_id(store_url)
    problem = refusal(redis_id, store_id, redis_url, store_url)
    return Bound(plan if problem is None else Plan.REFUSE, None if problem else redis_id, problem)
