"""The pipeline table: every stage, its queue, pool, limits, chaining and successors, once.

Everything that needs the pipeline's shape reads it here: the runner (what follows a
stage, which stages run inside a task), the Celery routes and tasks, ``sluice worker`` (which
pool serves a stage), ``sluice status`` and the metrics (which queues to watch), the queue
order, and the checks of the compose file and the KEDA example. Importing this module needs
neither Celery nor a stage's libraries: a row names its body by import path.

Adding a stage: write its module with a ``run(article) -> Outcome`` function
(:mod:`shared.outcomes`), add its row below, add its time-limit setting, and any new
store fields.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from sluice.shared.states import State

if TYPE_CHECKING:
    from sluice.shared.settings import Settings

__all__ = [
    "PIPELINE",
    "STAGES",
    "Pool",
    "Stage",
    "by_pool",
    "chainable",
    "consume_order",
    "ends_inside",
    "runs_inside",
    "stage",
    "task_name",
    "time_limits",
]


class Pool(StrEnum):
    """How a stage's worker runs its tasks: threads for waiting on the network, processes
    for work that holds the CPU."""

    THREADS = "threads"
    PREFORK = "prefork"


@dataclass(frozen=True, slots=True)
class Stage:
    """One row of the pipeline table."""

    name: str
    body: str  # "module:function" returning an Outcome
    pool: Pool
    time_limit: Callable[[Settings], int]  # hard limit of one run, seconds
    # The next stages an article may go to; a plain Forward() takes the first.
    successors: tuple[str, ...] = ()
    # Recorded as the item's state when the stage forwards it (None: nothing to record).
    progress: State | None = None
    # SLUICE_CHAIN_STAGES modes in which the stage runs inside the task before it.
    chained_in: frozenset[str] = frozenset()
    # Place among a worker's queues with SLUICE_QUEUE_ORDER=tag_last (lower first).
    consume_rank: int = 0

    @property
    def queue(self) -> str:
        return self.name

    @property
    def task_name(self) -> str:
        return task_name(self.name)


PIPELINE: tuple[Stage, ...] = (
    Stage(
        "fetch",
        "sluice.workers.stages.fetch:run",
        Pool.THREADS,
        lambda s: s.fetch_time_limit,
        successors=("extract",),
        progress=State.FETCHED,
        consume_rank=4,
    ),
    Stage(
        "extract",
        "sluice.workers.stages.extract:run",
        Pool.PREFORK,
        lambda s: s.extract_time_limit,
        successors=("dedup",),
        progress=State.EXTRACTED,
        consume_rank=2,
    ),
    Stage(
        "dedup",
        "sluice.workers.stages.dedup:run",
        Pool.PREFORK,
        lambda s: s.dedup_time_limit,
        successors=("tag", "store"),  # duplicates skip tagging
        chained_in=frozenset({"light", "all"}),
        consume_rank=1,
    ),
    Stage(
        "tag",
        "sluice.workers.stages.tag:run",
        Pool.PREFORK,
        lambda s: s.tag_time_limit,
        successors=("store",),
        progress=State.TAGGED,
        chained_in=frozenset({"all"}),
        consume_rank=3,  # last of the CPU stages, so that its queue gathers batches
    ),
    Stage(
        "store",
        "sluice.workers.stages.store:run",
        Pool.PREFORK,
        lambda s: s.store_time_limit,
        chained_in=frozenset({"light", "all"}),
        consume_rank=0,
    ),
)

STAGES: tuple[str, ...] = tuple(row.name for row in PIPELINE)
_BY_NAME = {row.name: row for row in PIPELINE}


def stage(name: str) -> Stage:
    """The row of stage ``name`` (KeyError for an unknown stage)."""
    return _BY_NAME[name]


def task_name(name: str) -> str:
    """The Celery task name of stage ``name``: ``workers.<stage>``."""
    return f"workers.{name}"


def by_pool(pool: Pool, among: Iterable[str] = STAGES) -> list[str]:
    """The stages of ``among`` that run on ``pool``, in pipeline order."""
    wanted = set(among)
    return [row.name for row in PIPELINE if row.pool is pool and row.name in wanted]


def consume_order() -> tuple[str, ...]:
    """Queues in the order a ``tag_last`` worker takes them."""
    return tuple(row.name for row in sorted(PIPELINE, key=lambda row: row.consume_rank))


def chainable(mode: str, served: Collection[str]) -> frozenset[str]:
    """The stages a worker serving ``served`` runs inside the task before them."""
    return frozenset(row.name for row in PIPELINE if mode in row.chained_in and row.name in served)


def runs_inside(name: str, chain: Collection[str]) -> tuple[str, ...]:
    """The chained stages that ``name``'s task may run after its own body: those reachable
    from it through chained successors only, in pipeline order."""
    reached: set[str] = set()
    frontier = [name]
    while frontier:
        for successor in stage(frontier.pop()).successors:
            if successor in chain and successor not in reached:
                reached.add(successor)
                frontier.append(successor)
    return tuple(s for s in STAGES if s in reached)


def ends_inside(name: str, chain: Collection[str]) -> bool:
    """Whether every path from ``name`` to the end of the pipeline runs inside its task, so
    that the item's final state is recorded a moment later by the same task."""
    return all(s in chain and ends_inside(s, chain) for s in stage(name).successors)


def time_limits(
    settings: Settings, name: str, chain: Collection[str] = ()
) -> tuple[float | None, int]:
    """(soft, hard) time limits of ``name``'s task in seconds, with room for the stages of
    ``chain`` it may run inside it."""
    hard = sum(stage(s).time_limit(settings) for s in (name, *runs_inside(name, chain)))
    ratio = settings.soft_time_limit_ratio
    return (hard * ratio if ratio > 0 else None), hard
