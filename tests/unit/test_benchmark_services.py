"""The throughput benchmark's CPU accounting: a process's own time and its waited children's."""

from __future__ import annotations

import os
import time

from benchmarks.services import process_cpu_seconds


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_waited_children_count_only_when_asked() -> None:
    me = os.getpid()
    own_before = process_cpu_seconds(me, waited_children=False)
    all_before = process_cpu_seconds(me)

    child = os.fork()
    if child == 0:
        _burn(0.5)
        os._exit(0)
    os.waitpid(child, 0)

    children = (process_cpu_seconds(me) - all_before) - (
        process_cpu_seconds(me, waited_children=False) - own_before
    )
    assert 0.4 <= children <= 1.0
