"""One Redis for Celery's queues and sluice's own state: URLs compared, passwords masked.

Policy: ``SLUICE_REDIS_URL`` is the one setting. Celery would take ``CELERY_BROKER_URL``
over its configuration and move the queues elsewhere while the dedup index, budgets,
backpressure and queue depths stay on ``SLUICE_REDIS_URL``; so a ``CELERY_BROKER_URL``
naming another server or database is refused at start (every ``sluice`` command, and
every worker, ``celery -A workers worker`` included), and one naming the same is harmless.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

__all__ = ["broker_conflict", "mask_url", "same_redis"]


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _redis_key(url: str) -> tuple[str, str, int, str, str, str]:
    parts = urlsplit(url)
    db = (parts.path or "/0").strip("/") or "0"
    return (
        parts.scheme,
        (parts.hostname or "localhost").lower(),
        parts.port or 6379,
        db,
        parts.username or "",
        parts.password or "",
    )


def same_redis(a: str, b: str) -> bool:
    """Whether two Redis URLs name the same server and database."""
    try:
        return _redis_key(a) == _redis_key(b)
    except ValueError:
        return a == b


def broker_conflict(redis_url: str, environ: dict[str, str] | None = None) -> str | None:
    """The line refusing a ``CELERY_BROKER_URL`` that is not ``redis_url``, or ``None``.

    Celery takes its broker from ``CELERY_BROKER_URL`` over its configuration, while sluice
    keeps its own state (dedup index, budgets, backpressure, queue depths) in
    ``SLUICE_REDIS_URL``: two different servers would split them without a word.
    """
    broker = (os.environ if environ is None else environ).get("CELERY_BROKER_URL")
    if not broker or same_redis(broker, redis_url):
        return None
    return (
        f"CELERY_BROKER_URL ({mask_url(broker)}) differs from SLUICE_REDIS_URL "
        f"({mask_url(redis_url)}): sluice keeps its queues and its state in one Redis; "
        "unset CELERY_BROKER_URL and set SLUICE_REDIS_URL only"
    )
