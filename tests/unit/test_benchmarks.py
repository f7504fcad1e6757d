"""The throughput benchmark's own logic: its turns, its parts merged on sluice's clock, and
the report's pace and ratio figures."""

from __future__ import annotations

import ast
import contextlib
import importlib
import io
import multiprocessing
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks.baseline import BaselineResult, pool_context
from benchmarks.distributed import SluiceResult, merge_parts
from benchmarks.quality import compare
from benchmarks.report import figures, pace_by_tenth, ratio_by_part, render
from benchmarks.schedule import interleave
from benchmarks.time_limit import EXIT_TERMINATED, EXIT_TIME_LIMIT, arm, time_limited


def _part(
    seconds: float, finished: list[float], cpu: float, redis_cpu: float | None
) -> SluiceResult:
    return SluiceResult(
        seconds=seconds,
        submit_seconds=0.5,
        task_runtimes={"extract": [0.1] * len(finished)},
        stage_bodies={"tag": [0.08] * len(finished)},
        states={"stored": len(finished)},
        reasons={},
        latencies=finished,
        latencies_from_enqueue=finished,
        queue_waits=[0.0] * len(finished),
        items_timed=len(finished),
        worker_cpu_seconds=cpu,
        producer_cpu_seconds=0.1,
        worker_cpu_by_kind={"pool process": cpu},
        redis_cpu_seconds=redis_cpu,
        rss_along_run=[(0.5, 100), (1.0, 200)],
    )


def test_inner_baseline_portions_are_twice_the_outer_ones() -> None:
    chunks, portions = interleave(range(2000), range(2000), 4)
    assert [len(c) for c in chunks] == [500] * 4
    assert [len(p) for p in portions] == [250, 500, 500, 500, 250]
    # Every page once, in order.
    assert [n for c in chunks for n in c] == [n for p in portions for n in p] == list(range(2000))


def test_parts_add_up_and_later_parts_finish_later() -> None:
    merged = merge_parts([_part(10.0, [4.0, 10.0], 3.0, 0.2), _part(5.0, [2.0, 5.0], 2.0, 0.1)])
    assert merged.seconds == 15.0
    assert (merged.part_seconds, merged.part_articles) == ([10.0, 5.0], [2, 2])
    assert merged.latencies == [4.0, 10.0, 2.0, 5.0]  # from each one's part's start
    assert merged.finished_at == [4.0, 10.0, 12.0, 15.0]  # the second part starts at 10 s
    assert merged.states == {"stored": 4}
    assert merged.task_runtimes == {"extract": [0.1] * 4}
    assert merged.worker_cpu_seconds == 5.0
    assert merged.worker_cpu_by_kind == {"pool process": 5.0}
    assert merged.redis_cpu_seconds is not None and abs(merged.redis_cpu_seconds - 0.3) < 1e-9
    # Memory at each tenth of all items: the first part's samples cover the first half.
    assert merged.rss_along_run[4] == (0.5, 200) and merged.rss_along_run[9] == (1.0, 200)
    assert merged.rss_along_run[1] == (0.2, 100)


def test_a_run_that_slows_down_shows_it_in_its_last_tenths() -> None:
    # 50 items at 10/s, then 50 at 5/s; finish times arrive in any order.
    finished = [n / 10 for n in range(1, 51)] + [5 + n / 5 for n in range(1, 51)]
    pace = pace_by_tenth(list(reversed(finished)))
    assert pace[:5] == [10.0] * 5
    assert pace[5:] == [5.0] * 5


def test_each_sluice_part_is_compared_with_the_baseline_parts_around_it() -> None:
    # Baseline: 10/s, then 5/s, then 5/s; sluice: 9/s, then 4/s.
    ratios = ratio_by_part([90, 40], [10.0, 10.0], [50, 50, 25], [5.0, 10.0, 5.0])
    assert ratios == [round(9 / (100 / 15), 3), round(4 / 5, 3)]


def test_the_report_of_a_run_in_parts_ends_with_the_ratio() -> None:
    sluice = merge_parts([_part(10.0, [4.0, 10.0], 3.0, 0.2), _part(10.0, [2.0, 10.0], 2.0, 0.1)])
    sluice.worker_rss = [("pool process", 400_000), ("pool process", 410_000)]
    baseline = BaselineResult(
        processes=2,
        seconds=16.0,
        stage_times={"extract": [0.1] * 4, "tag": [0.5] * 4},
        states={"stored": 4},
        reasons={},
        latencies=[4.0] * 4,
        cpu_seconds=4.0,
        part_seconds=[4.0, 8.0, 4.0],
        part_articles=[1, 2, 1],
    )
    setup = {
        "corpus": "corpus",
        "corpus_pages": 2,
        "articles": 4,
        "baseline_articles": 4,
        "repeats": 2,
        "cpus": 2,
        "load_average": [0.1, 0.2],
        "commit": "abc",
        "sluice_workers": "1 x 'sluice worker'",
    }
    quality = compare({}, {}).as_dict()

    lines = render(figures(setup, baseline, sluice, 2, quality)).splitlines()

    assert "peak RSS of each of the 2 processes seen" in "\n".join(lines)
    assert lines[-3] == "ratio of each sluice part to the baseline parts around it: 0.80, 0.80"
    assert lines[-1] == "ratio sluice/baseline: 0.80"


BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _socket_inodes(pid: int) -> set[str]:
    """The sockets process ``pid`` holds open, as ``socket:[inode]``."""
    links = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            links.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
    return {link for link in links if link.startswith("socket:")}


def test_the_baseline_pool_inherits_no_connection() -> None:
    assert pool_context().get_start_method() in ("forkserver", "spawn")
    with socket.socket() as held:  # as the producer's kombu connection is
        held.bind(("127.0.0.1", 0))
        held.listen()
        mine = os.readlink(f"/proc/self/fd/{held.fileno()}")
        for context, inherits in (
            (pool_context(), False),
            (multiprocessing.get_context("fork"), True),
        ):
            with context.Pool(1) as pool:
                pool.apply(os.getpid)  # the process is up
                (child,) = pool._pool
                assert (mine in _socket_inodes(child.pid)) is inherits, context
                pool.terminate()


def _mains() -> list[str]:
    """The benchmark modules that can be run (those with a ``main``)."""
    return sorted(
        path.stem
        for path in BENCHMARKS.glob("*.py")
        if any(
            isinstance(node, ast.FunctionDef) and node.name == "main"
            for node in ast.parse(path.read_text()).body
        )
    )


@pytest.mark.parametrize("name", _mains())
def test_every_benchmark_has_a_time_limit(name: str) -> None:
    tree = ast.parse((BENCHMARKS / f"{name}.py").read_text())
    (main,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert [ast.unparse(d) for d in main.decorator_list] == [f"time_limited({name!r})"]
    module = importlib.import_module(f"benchmarks.{name}")
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), pytest.raises(SystemExit):
        module.main(["--help"])
    assert "--time-limit SECONDS" in shown.getvalue()


def test_a_run_past_its_limit_ends_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    stopped = []

    @time_limited("sleeper")
    def main() -> int:
        arm(0.2)
        try:
            time.sleep(30)
        finally:
            stopped.append(True)  # cleanup code still runs
        return 0

    started = time.monotonic()
    assert main() == EXIT_TIME_LIMIT
    assert time.monotonic() - started < 10 and stopped == [True]
    assert "sleeper: time limit of 0.2 s passed: run stopped" in capsys.readouterr().err


_STOPS_ITS_WORKER = textwrap.dedent(
    """
    import subprocess, sys, time
    from benchmarks.time_limit import time_limited

    @time_limited("killed")
    def main() -> int:
        worker = subprocess.Popen(["sleep", "600"], start_new_session=True)
        try:
            print(worker.pid, flush=True)  # in the try: the test's SIGTERM comes after it
            time.sleep(60)
        finally:
            worker.terminate()  # what a benchmark does with the workers it started
            worker.wait()
        return 0

    sys.exit(main())
    """
)


def test_a_sigterm_unwinds_the_run_so_it_stops_its_workers() -> None:
    run = subprocess.Popen(
        [sys.executable, "-c", _STOPS_ITS_WORKER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=BENCHMARKS.parent,
    )
    assert run.stdout is not None
    worker = int(run.stdout.readline())
    run.terminate()
    _, err = run.communicate(timeout=30)
    assert run.returncode == EXIT_TERMINATED, err
    assert "killed: stopped by SIGTERM" in err
    assert not Path(f"/proc/{worker}").exists() or _state(worker) == "Z"


_HANGS_ON_THE_WAY_OUT = textwrap.dedent(
    """
    import subprocess, sys, time
    from benchmarks.time_limit import arm, time_limited

    @time_limited("stuck")
    def main() -> int:
        child = subprocess.Popen(["sleep", "600"], start_new_session=True)
        print(child.pid, flush=True)
        arm(0.3, grace=0.5)
        try:
            time.sleep(60)
        finally:
            time.sleep(60)  # a cleanup that hangs, as Pool.terminate once did
        return 0

    sys.exit(main())
    """
)


def test_a_run_that_hangs_stopping_is_killed_with_its_processes() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _HANGS_ON_THE_WAY_OUT],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=BENCHMARKS.parent,
    )
    assert result.returncode == EXIT_TIME_LIMIT, result.stderr
    assert time.monotonic() - started < 30
    assert "stuck: time limit of 0.3 s passed and stopping took over" in result.stderr
    child = int(result.stdout.split()[0])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and "Z" not in _state(child):
        assert time.monotonic() < deadline, "its child process is still running"
        time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
