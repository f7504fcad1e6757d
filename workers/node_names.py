"""One node name, one worker: ``sluice worker`` refuses a name a live node answers to.

Celery only warns about two nodes of one name (``DuplicateNodenameWarning``), and then
confuses them: Flower shows one worker, control replies and ``sluice status``'s slot counts
mix them up. ``sluice worker`` asks the cluster before it starts any worker process whether
each name is taken (a broadcast ping to that name) and exits with status 2 and one line when
it is. A worker restarted after a crash is not refused: a dead node answers no ping.

Plain ``celery -A sluice.workers worker`` is not checked: asking from inside the worker, at
``worker_init``, left broker state in the main process that its forked pool processes
inherited, and a replacement pool process then hung in kombu's after-fork cleanup, blocked
on a BRPOP reply, for ever. Checking there safely is still to do.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["EXIT_NAME_TAKEN", "live_clashes", "refuse_taken_name"]

EXIT_NAME_TAKEN = 2  # the CLI's exit code for bad usage or configuration (cli.errors)


def live_clashes(app: Any, names: list[str], timeout: float = 1.0) -> list[str]:
    """Those of ``names`` that a running node already answers to.

    The ping goes through an app of its own, closed afterwards: the worker asks before its
    pool forks, and pool processes forked from a main process whose app had opened broker
    connections hung before they could report for work (Celery killed and replaced them,
    for ever).
    """
    from celery import Celery

    probe = Celery(broker=app.conf.broker_url, set_as_current=False)
    try:
        replies = probe.control.ping(destination=names, timeout=timeout) or []
    finally:
        probe.close()
    return sorted({node for reply in replies for node in reply} & set(names))


def refuse_taken_name(app: Any, hostname: str) -> None:
    """Exit (status 2, one line on stderr) when a live node already answers to ``hostname``."""
    if not live_clashes(app, [hostname]):
        return
    print(
        f"sluice: a running worker is already named {hostname}; node names must be unique "
        "in a cluster: give this one another (sluice worker --name, celery worker -n)",
        file=sys.stderr,
        flush=True,
    )
    raise SystemExit(EXIT_NAME_TAKEN)
