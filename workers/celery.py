"""The Celery application, configured for at-least-once processing of articles.

Choices made here:

* JSON only, no result backend: item states live in the store, so results would only
  fill Redis.
* ``task_acks_late`` with ``task_reject_on_worker_lost``: a task is acknowledged after it
  ran, and one whose worker died is handed back, so a killed worker loses nothing. Every
  stage is idempotent, which makes running twice harmless; a task that keeps dying is
  dead-lettered after ``SLUICE_MAX_ATTEMPTS`` (see :mod:`workers.recovery.attempts`).
* ``worker_prefetch_multiplier = 1``: a worker reserves one task per process, so a slow
  article does not hold others hostage and unacknowledged work stays small.
* The Redis ``visibility_timeout`` (redelivery of unacknowledged tasks) is longer than any
  task's hard time limit and any retry countdown; it is set once, in the broker transport
  options, where both the workers and the producers' connections read it.
* Per-stage soft and hard time limits come from settings (``workers.tasks``); prefork
  processes are recycled by task count and memory.
* Task events are always sent, so Flower sees every stage.
* Every stage's queue is declared: a worker started without ``-Q`` serves all of them.
* A worker's node name is its own in the whole cluster: it is leased in Redis at start
  (:mod:`workers.membership.node_names`), and a second worker of a live one's name stops there.
* A worker rides out a Redis outage while kombu closes its channel
  (:mod:`workers.broker_close`), instead of exiting with an "Unrecoverable error".
* A worker that serves the fetch queue runs the crawl frontier's pump
  (:mod:`workers.fetching.pump`) in a thread of its main process, and the feed scheduler
  (:mod:`workers.feeds.scheduler`, unless ``SLUICE_FEED_SCHEDULER=false``) in another.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import task_received, worker_init, worker_ready, worker_shutdown

from sluice.shared.settings import Settings, get_settings
from sluice.workers.broker_close import survive_detached_close
from sluice.workers.queue_order import strategy as queue_order_strategy
from sluice.workers.routing import task_queues, task_routes

__all__ = ["app", "celery_config", "reconfigure"]


def celery_config(settings: Settings) -> dict[str, Any]:
    vt = settings.visibility_timeout
    transport = {
        # Unacknowledged tasks come back after this long: it must exceed every hard time
        # limit (settings.*_time_limit) and every retry countdown (fetch_retry_backoff_max).
        "visibility_timeout": vt,
        # How often workers sweep for such tasks; the defaults (about 100 s) suit an hour-long
        # visibility timeout, a short one (tests, small crawls) wants quicker sweeps.
        "unacked_restore_interval": max(1, min(10, vt // 20)),
        "unacked_restore_throttle": 1 if vt < 600 else 10,
        # Which of a worker's queues it takes from first (workers.queue_order).
        "queue_order_strategy": queue_order_strategy(settings.queue_order),
    }
    return {
        "broker_url": settings.redis_url,
        "broker_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # ride out a Redis restart, however long
        "task_serializer": "json",
        # An article's message carries its text, JSON-escaped and base64-encoded: about 11 KB
        # for a corpus article, 2.8 KB compressed (0.4 ms). Queues hold up to the high-water
        # mark per stage, so this is Redis memory a long crawl keeps.
        "task_compression": "zlib",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "task_routes": task_routes(),
        # Declared, so that plain `celery -A workers worker` consumes every stage's queue.
        "task_queues": task_queues(),
        "task_default_queue": "fetch",
        # At least once: acknowledge after the task ran; a task whose worker process died
        # goes back to the queue (workers.recovery.attempts bounds how often).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One reserved task per process (or thread): a worker that dies holds little, and a
        # slow article does not keep others waiting behind it.
        "worker_prefetch_multiplier": 1,
        # When Redis goes away, running tasks could not be acknowledged anyway: cancel them
        # and let them be redelivered (every stage is idempotent).
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        # Recycle prefork processes so memory stays flat over long crawls.
        "worker_max_tasks_per_child": settings.worker_max_tasks_per_child,
        "worker_max_memory_per_child": settings.worker_max_memory_per_child_mb * 1024,
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "include": ["sluice.workers.tasks", "sluice.workers.feeds.tasks"],
    }


# A Redis outage while kombu closes its channel must not end the worker (workers.broker_close).
survive_detached_close()

# Request lines would put user-submitted URLs into every worker log line.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Retried tasks keep their label too (workers.labelled_task), not only freshly sent ones.
app = Celery("sluice", task_cls="sluice.workers.labelled_task:LabelledTask")
app.conf.update(celery_config(get_settings()))


def reconfigure() -> None:
    """Re-read the settings into :data:`app` (before it has connected to anything)."""
    get_settings.cache_clear()
    app.conf.update(celery_config(get_settings()))


@worker_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _prepare_database(**_: Any) -> None:
    """Every worker refuses a split broker, brings the database to the newest schema, and
    refuses a store and Redis that are not one cluster, before taking tasks."""
    from sluice.shared.broker_url import broker_conflict
    from sluice.shared.db import upgrade_database
    from sluice.workers.membership.cluster_guard import refuse_foreign_cluster

    conflict = broker_conflict(get_settings().redis_url)
    if conflict is not None:
        logging.getLogger(__name__).critical("%s", conflict)
        raise SystemExit(f"sluice: {conflict}")

    upgrade_database()
    refuse_foreign_cluster(get_settings())


@worker_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _hold_node_name(sender: Any = None, **_: Any) -> None:
    """Every worker of the cluster leases its node name before it loads anything, and stops
    (exit 2, one line) when a live worker holds it (workers.membership.node_names). Only
    once its Redis is found to be its store's (above): a refused worker writes nothing into
    a Redis that is not its cluster's, and is refused for that, not for a name there."""
    from sluice.workers.membership.node_names import hold_node_name

    settings = get_settings()
    hold_node_name(settings.redis_url, str(sender.hostname), settings.worker_dead_after)


@worker_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _check_tagging_models(**_: Any) -> None:
    """A worker that serves tag checks that every pipeline of ``SLUICE_SPACY_MODELS`` is
    installed, and stops before it takes any task when one is not.

    It loads none of them: each pool process loads a pipeline the first time an article in
    its language comes (:func:`workers.tagging.entities.load_model`), so a worker that sees only
    English articles never pays for the French pipeline.
    """
    if "tag" not in app.amqp.queues.consume_from:
        return
    import spacy.util

    for language, name in sorted(get_settings().spacy_pipelines.items()):
        if not spacy.util.is_package(name) and not Path(name).is_dir():
            line = f"spaCy pipeline {name!r} (for {language!r} in SLUICE_SPACY_MODELS)"
            logging.getLogger(__name__).critical("%s is not installed", line)
            raise SystemExit(f"sluice: the tag stage needs {line}, which is not installed")


@worker_init.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _load_language_detector(**_: Any) -> None:
    """A worker that serves extract loads the language detector before it starts its pool:
    pool processes are forked from this one, so they share its model (about 80 MiB) instead
    of each loading a copy of its own."""
    if "extract" not in app.amqp.queues.consume_from:
        return
    from sluice.shared.language import detect_language

    detect_language("sluice")


_pumps: list[Any] = []


@worker_ready.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _start_pump(sender: Any = None, **_: Any) -> None:
    """A worker that serves fetch releases due hosts from the frontier into its queue."""
    if "fetch" not in app.amqp.queues.consume_from:
        return
    from sluice.workers.fetching.pump import Pump

    slots = getattr(getattr(sender, "controller", None), "concurrency", None) or 16
    pump = Pump(int(slots))
    pump.start()
    _pumps.append(pump)


@worker_ready.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _start_feed_scheduler(**_: Any) -> None:
    """A worker that serves fetch claims due feeds and sends their polls."""
    if "fetch" not in app.amqp.queues.consume_from or not get_settings().feed_scheduler:
        return
    from sluice.workers.feeds.scheduler import FeedScheduler

    scheduler = FeedScheduler()
    scheduler.start()
    _pumps.append(scheduler)


def _leases() -> Any:
    from sluice.shared.item_leases import ItemLeases
    from sluice.shared.redis_state import get_redis

    return ItemLeases(get_redis(), get_settings().item_lease)


@worker_ready.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _start_keeper(sender: Any = None, **_: Any) -> None:
    """Every worker renews the leases of the items it holds and runs the reconciler, which
    sends on the items whose lease expired (workers.recovery.keeper, .reconciler)."""
    from sluice.shared.redis_state import get_redis
    from sluice.workers.recovery.keeper import Keeper, beat_of
    from sluice.workers.recovery.reconciler import Reconciler

    def restore(tags: list[str]) -> None:
        with app.connection_for_write() as connection:
            qos = connection.default_channel.qos
            for tag in tags:
                qos.restore_by_tag(tag)  # at the head of its queue, as kombu restores

    settings = get_settings()
    leases = _leases()
    beat = beat_of(settings.item_lease, settings.worker_dead_after)
    reconciler = Reconciler(get_redis(), leases, restore, beat=beat)
    node = str(getattr(sender, "hostname", "worker"))
    keeper = Keeper(node, leases, reconciler, live_for=settings.worker_dead_after, beat=beat)
    keeper.start()
    _pumps.append(keeper)


@task_received.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _renew_received(request: Any = None, **_: Any) -> None:
    """A task just taken renews its item's lease at once, not at the keeper's next beat."""
    import redis

    from sluice.workers.recovery.keeper import request_key

    key = request_key(request)
    if key is None:
        return
    try:
        _leases().renew([key])
    except redis.RedisError:  # the keeper renews it at its next beat
        logging.getLogger(__name__).debug("could not renew the lease of %s", key)


@worker_shutdown.connect  # type: ignore[untyped-decorator]  # Celery ships no types
def _stop_pump(**_: Any) -> None:
    for pump in _pumps:
        pump.stop()
