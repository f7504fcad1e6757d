"""What ``sluice submit`` says while it sends: enqueued out of recorded, and why it pauses."""

from __future__ import annotations

from sluice.cli.waiting import EnqueueDisplay, describe_enqueue
from sluice.producers import EnqueueProgress


def _at(enqueued: int, paused_on: str | None = None, depth: int = 0) -> EnqueueProgress:
    return EnqueueProgress("j1", "fetch", 50_000, enqueued, paused_on, depth, 10_000, 5_000)


def test_the_pause_says_which_queue_is_full_and_when_sending_resumes() -> None:
    assert describe_enqueue(_at(1_000)) == "sending"
    assert describe_enqueue(_at(50_000)) == "done"
    assert (
        describe_enqueue(_at(10_000, "fetch", 10_000))
        == "paused: fetch queue at 10,000 ≥ high-water 10,000 (resumes at ≤ 5,000)"
    )
    assert (
        describe_enqueue(_at(20_000, "tag", 7_500))
        == "paused: tag queue at 7,500, resumes at ≤ 5,000"
    )


def test_the_display_counts_each_pause_once() -> None:
    display = EnqueueDisplay(show=False)
    with display:
        for update in (
            _at(0),
            _at(10_000),
            _at(10_000, "fetch", 10_000),
            _at(10_000, "fetch", 8_000),
            _at(15_000),
            _at(15_000, "tag", 10_000),
            _at(20_000),
        ):
            display(update)
    assert display.pauses == 2
    assert display.last == _at(20_000)
