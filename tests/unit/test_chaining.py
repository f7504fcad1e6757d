"""Which stages a task runs inside it (``SLUICE_CHAIN_STAGES``), and the time limits it gets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.settings import Settings, get_settings
from workers import tasks
from workers.app import app
from workers.routing import STAGES, task_name


def _chain(*stages: str) -> dict[str, tasks.StageBody]:
    return {stage: tasks._BODIES[stage] for stage in stages}


@pytest.mark.parametrize(
    ("stage", "chained", "inside"),
    [
        ("extract", (), ()),
        ("extract", ("dedup", "store"), ("dedup", "store")),  # duplicates: dedup -> store
        ("tag", ("dedup", "store"), ("store",)),
        ("extract", ("dedup", "tag", "store"), ("dedup", "tag", "store")),
        ("dedup", ("dedup", "tag", "store"), ("tag", "store")),
        ("extract", ("tag", "store"), ()),  # a worker that does not dedup queues dedup
        ("fetch", ("dedup", "tag", "store"), ()),
        ("store", ("dedup", "tag", "store"), ()),
    ],
)
def test_runs_inside(stage: str, chained: tuple[str, ...], inside: tuple[str, ...]) -> None:
    assert tasks.runs_inside(stage, _chain(*chained)) == inside


def test_time_limits_add_up_over_chained_stages() -> None:
    settings = Settings(
        extract_time_limit=90,
        dedup_time_limit=60,
        tag_time_limit=300,
        store_time_limit=120,
        soft_time_limit_ratio=0.5,
    )
    assert settings.time_limits("extract") == (45.0, 90)
    assert settings.time_limits("extract", "dedup", "tag", "store") == (285.0, 570)


@pytest.fixture
def worker_of_every_cpu_stage(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's app as a worker consuming the CPU stages' queues, with chaining on;
    queues and time limits restored afterwards."""
    queues = app.amqp.queues
    consumed = queues._consume_from
    limits = {
        s: (app.tasks[task_name(s)].soft_time_limit, app.tasks[task_name(s)].time_limit)
        for s in STAGES
    }
    monkeypatch.setenv("SLUICE_CHAIN_STAGES", "all")
    get_settings.cache_clear()
    queues.select(["extract", "dedup", "tag", "store"])
    yield
    queues._consume_from = consumed
    for stage, (soft, hard) in limits.items():
        task = app.tasks[task_name(stage)]
        task.soft_time_limit, task.time_limit = soft, hard
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("worker_of_every_cpu_stage")
def test_worker_start_widens_the_limits_of_tasks_that_run_chained_stages() -> None:
    settings = get_settings()
    assert set(tasks.chained_bodies()) == {"dedup", "tag", "store"}

    tasks._cover_chained_stages()

    def limits(stage: str) -> tuple[float | None, float | None]:
        task = app.tasks[task_name(stage)]
        return task.soft_time_limit, task.time_limit

    assert limits("extract") == settings.time_limits("extract", "dedup", "tag", "store")
    assert limits("tag") == settings.time_limits("tag", "store")
    assert limits("store") == settings.time_limits("store")
    assert limits("fetch") == settings.time_limits("fetch")
