"""The Celery application, configured for at-least-once processing of articles.

Choices made here:

* JSON only, no result backend: item states live in the store, so results would only
  fill Redis.
* ``task_acks_late`` with ``task_reject_on_worker_lost``: a task is acknowledged after it
  ran, and one whose worker died is handed back, so a killed worker loses nothing. Every
  stage is idempotent, which makes running twice harmless.
* ``worker_prefetch_multiplier = 1``: a worker reserves one task per process, so a slow
  article does not hold others hostage and unacknowledged work stays small.
* The Redis ``visibility_timeout`` (redelivery of unacknowledged tasks) is longer than any
  task's hard time limit and any retry countdown.
* Task events are always sent, so Flower sees every stage.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_init

from shared.settings import Settings, get_settings
from workers.routing import task_routes

__all__ = ["app", "celery_config", "reconfigure"]


def celery_config(settings: Settings) -> dict[str, Any]:
    transport = {"visibility_timeout": settings.visibility_timeout}
    return {
        "broker_url": settings.redis_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "task_routes": task_routes(),
        "task_default_queue": "fetch",
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "include": ["workers.tasks"],
    }


# Request lines would put user-submitted URLs into every worker log line.
logging.getLogger("httpx").setLevel(logging.WARNING)

app = Celery("sluice")
app.conf.update(celery_config(get_settings()))


def reconfigure() -> None:
    """Re-read the settings into :data:`app` (before it has connected to anything)."""
    get_settings.cache_clear()
    app.conf.update(celery_config(get_settings()))


@worker_init.connect
def _prepare_database(**_: Any) -> None:
    """Every worker brings the database to the newest schema before taking tasks."""
    from shared.db import upgrade_database

    upgrade_database()
