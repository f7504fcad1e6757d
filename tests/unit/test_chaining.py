"""Which stages a task runs inside it (``SLUICE_CHAIN_STAGES``), and the time limits it gets:
all read from the pipeline table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sluice.shared.settings import Settings, get_settings
from sluice.workers import tasks
from sluice.workers.celery import app
from sluice.workers.pipeline import (
    STAGES,
    chainable,
    ends_inside,
    runs_inside,
    task_name,
    time_limits,
)


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
    assert runs_inside(stage, chained) == inside


@pytest.mark.parametrize(
    ("stage", "chained", "ends"),
    [
        ("extract", ("dedup", "tag", "store"), True),
        ("extract", ("dedup", "store"), False),  # originals still go to the tag queue
        ("tag", ("dedup", "store"), True),
        ("fetch", ("dedup", "tag", "store"), False),
        ("store", (), True),
    ],
)
def test_ends_inside(stage: str, chained: tuple[str, ...], ends: bool) -> None:
    assert ends_inside(stage, chained) is ends


@pytest.mark.parametrize(
    ("mode", "served", "chained"),
    [
        ("off", STAGES, set()),
        ("light", STAGES, {"dedup", "store"}),
        ("all", STAGES, {"dedup", "tag", "store"}),
        ("all", ("extract", "tag", "store"), {"tag", "store"}),  # only stages it serves
    ],
)
def test_chainable_stages_come_from_the_table(
    mode: str, served: tuple[str, ...], chained: set[str]
) -> None:
    assert chainable(mode, served) == chained


def test_time_limits_add_up_over_chained_stages() -> None:
    settings = Settings(
        extract_time_limit=90,
        dedup_time_limit=60,
        tag_time_limit=300,
        store_time_limit=120,
        soft_time_limit_ratio=0.5,
    )
    assert time_limits(settings, "extract") == (45.0, 90)
    assert time_limits(settings, "extract", ("dedup", "tag", "store")) == (285.0, 570)
    assert time_limits(settings, "extract", ("tag", "store")) == (45.0, 90)


@pytest.fixture
def chaining_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """SLUICE_CHAIN_STAGES=all; the tasks' chain and time limits restored afterwards."""
    limits = {
        s: (app.tasks[task_name(s)].soft_time_limit, app.tasks[task_name(s)].time_limit)
        for s in STAGES
    }
    chain = tasks.chain
    monkeypatch.setenv("SLUICE_CHAIN_STAGES", "all")
    get_settings.cache_clear()
    yield
    tasks.chain = chain
    for stage, (soft, hard) in limits.items():
        task = app.tasks[task_name(stage)]
        task.soft_time_limit, task.time_limit = soft, hard
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.mark.usefixtures("chaining_on")
def test_worker_start_widens_the_limits_of_tasks_that_run_chained_stages() -> None:
    settings = get_settings()
    assert tasks.configure_chain({"extract", "dedup", "tag", "store"}) == {"dedup", "tag", "store"}
    assert tasks.chain == {"dedup", "tag", "store"}

    def limits(stage: str) -> tuple[float | None, float | None]:
        task = app.tasks[task_name(stage)]
        return task.soft_time_limit, task.time_limit

    assert limits("extract") == time_limits(settings, "extract", tasks.chain)
    assert limits("extract")[1] == sum(
        time_limits(settings, s)[1] for s in ("extract", "dedup", "tag", "store")
    )
    assert limits("tag") == time_limits(settings, "tag", ("store",))
    assert limits("store") == time_limits(settings, "store")
    assert limits("fetch") == time_limits(settings, "fetch")
