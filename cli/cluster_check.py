"""Every ``sluice`` command checks at start that its Redis and its store are one cluster.

``db``, ``cluster`` and ``up`` bind (or inspect) instead of checking. A Redis that does not
answer is not checked here: the command then meets it itself (exit 5) or needs none
(``articles list``); a store that cannot be read raises, for :mod:`cli.errors` to name.
"""

from __future__ import annotations

__all__ = ["BINDS_ITSELF", "start_refusal"]

BINDS_ITSELF = frozenset({"db", "cluster", "up"})


def start_refusal(command: str | None) -> str | None:
    """The line refusing ``command`` on this Redis and store, or ``None`` to go on."""
    if command in BINDS_ITSELF:
        return None
    import redis

    from sluice.shared.cluster_binding import read_redis_id, read_store_id
    from sluice.shared.cluster_id import refusal
    from sluice.shared.settings import get_settings

    settings = get_settings()
    try:
        redis_id = read_redis_id(settings.redis_url)
    except redis.RedisError:
        return None
    store_url = settings.effective_database_url
    return refusal(redis_id, read_store_id(store_url), settings.redis_url, store_url)
