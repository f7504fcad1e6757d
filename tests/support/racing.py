"""Racing processes: several start a step at the same moment, round after round."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any


def race(target: Callable[..., None], racers: Sequence[tuple[Any, ...]], results: int) -> list:
    """Run ``target(*args, barrier, results_queue)`` in one process per ``args`` of ``racers``
    and return the first ``results`` items they put on the queue; every racer must exit 0."""
    # Spawned, not forked: a fork of this process could inherit a lock that one of the
    # session's other threads (web servers, event receivers) holds, and hang on it.
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(racers))
    queue: multiprocessing.Queue = context.Queue()
    processes = [context.Process(target=target, args=(*args, barrier, queue)) for args in racers]
    for process in processes:
        process.start()
    try:
        outcomes = [queue.get(timeout=180) for _ in range(results)]
        for process in processes:
            process.join(timeout=30)
            assert process.exitcode == 0
    finally:  # a racer left hanging would keep pytest from exiting
        for process in processes:
            if process.is_alive():
                process.kill()
    return outcomes
