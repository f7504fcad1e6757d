"""Every Celery event a cluster sends while a test or a benchmark runs, as monitors receive
them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from celery import Celery

__all__ = ["recorded_events", "settle"]


@contextmanager
def recorded_events(redis_url: str) -> Iterator[list[dict[str, Any]]]:
    """Collect the events sent on ``redis_url`` into the yielded list until the block ends."""
    app = Celery(broker=redis_url)
    events: list[dict[str, Any]] = []
    connection = app.connection()
    receiver = app.events.Receiver(connection, handlers={"*": events.append})
    # Drains in one-second slices and looks at should_stop between them.
    thread = threading.Thread(
        target=receiver.capture, kwargs={"limit": None, "wakeup": False}, daemon=True
    )
    thread.start()
    time.sleep(1.0)  # the receiver subscribes once it starts consuming
    try:
        yield events
    finally:
        receiver.should_stop = True
        thread.join(10)
        connection.release()
        app.close()


def settle(events: list[dict[str, Any]], quiet: float = 2.0, timeout: float = 20.0) -> None:
    """Wait until no task event has come for ``quiet`` seconds: workers send some late."""
    deadline = time.monotonic() + timeout
    seen, since = 0, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.2)
        count = sum(1 for event in list(events) if event["type"].startswith("task-"))
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
