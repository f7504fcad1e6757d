"""Item states: where each submitted item is, and which states are final."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["FINAL_STATES", "State", "rank"]


class State(StrEnum):
    # Recorded in the store, its message not sent yet: a submission interrupted here leaves
    # items that `sluice submit --resume JOB` sends (they are never silently lost).
    RECORDED = "recorded"
    QUEUED = "queued"
    FETCHED = "fetched"
    EXTRACTED = "extracted"
    TAGGED = "tagged"
    STORED = "stored"
    DUPLICATE = "duplicate"
    UNCHANGED = "unchanged"
    # Left out on purpose at submission (a --language, --domain or --since filter, a WARC
    # record that is no page): its reason says why. Not a failure.
    SKIPPED = "skipped"
    # A site crawl's hub page (front, section, tag or pagination page): its links were
    # followed, and it is not stored as an article. Not a failure.
    FOLLOWED = "followed"
    FAILED = "failed"


FINAL_STATES = frozenset(
    {State.STORED, State.DUPLICATE, State.UNCHANGED, State.SKIPPED, State.FOLLOWED, State.FAILED}
)

_RANK = {
    State.RECORDED: -1,
    State.QUEUED: 0,
    State.FETCHED: 1,
    State.EXTRACTED: 2,
    State.TAGGED: 3,
}


def rank(state: State | str) -> int:
    """Progress order: a state change is only recorded if it moves an item forward."""
    return _RANK.get(State(state), 9)
