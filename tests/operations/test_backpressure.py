"""Backpressure: a large submission never holds more than the high-water mark in the fetch
queue and the crawl frontier together.

The producer runs for real (``sluice submit`` in a subprocess) against the session's Redis;
the fetch queue is drained by :class:`~tests.operations.drain.QueueDrain` at a bounded rate.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import redis

from sluice.producers import Resumed, resume_job
from sluice.shared.jobs import ItemSpec, create_job, job_counts, list_items, new_job_id
from sluice.shared.states import State
from sluice.workers.backpressure import Backpressure, queue_depths
from sluice.workers.fetching.frontier import Frontier
from tests.operations.drain import QueueDrain
from tests.support.cluster import interruptible, run_sluice

HIGH, LOW = 500, 250


def _wait_for(condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def test_fifty_thousand_urls_never_overfill_the_fetch_queue(
    queues: redis.Redis, producer_env: dict[str, str], redis_url: str
) -> None:
    urls = "\n".join(f"https://example.com/backpressure/{n}.html" for n in range(50_000))
    # 2,500 messages/s is well under what the producer sends, so the queue fills and the
    # producer must pause again and again.
    with QueueDrain(redis_url, "fetch", per_second=2500) as drain:
        result = run_sluice(producer_env, "submit", "--file", "-", stdin=urls, timeout=280)
        assert result.returncode == 0, result.stderr
        drain.until_empty()
    job_id = result.stdout.strip()

    print(f"max fetch depth {drain.max_depth} over {drain.samples} samples;", result.stderr[-300:])
    assert drain.samples > 1000
    assert drain.max_depth <= HIGH
    assert drain.max_depth > LOW  # the queue did fill: the bound was exercised
    assert "paused" in result.stderr
    # Every item enqueued exactly once, as a fetch task, and recorded as queued.
    assert drain.item_ids(job_id) == list(range(50_000))
    assert set(drain.tasks) == {"workers.fetch"}
    counts = job_counts(job_id)
    assert counts["submitted"] == 50_000
    assert counts["states"] == {"queued": 50_000}


def test_producers_running_at_once_keep_the_bound_together(
    queues: redis.Redis, producer_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    jobs = [new_job_id(), new_job_id()]
    producers = []
    with QueueDrain(redis_url, "fetch", per_second=1500) as drain:
        for job_id in jobs:
            urls = tmp_path / f"{job_id}.txt"
            urls.write_text("".join(f"https://example.com/{job_id}/{n}\n" for n in range(5000)))
            command = ["submit", "--job", job_id, "--file", str(urls)]
            producers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "sluice.cli.main", *command],
                    env=producer_env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for producer in producers:
            _out, err = producer.communicate(timeout=240)
            assert producer.returncode == 0, err
        drain.until_empty()
    assert LOW < drain.max_depth <= HIGH
    for job_id in jobs:
        assert drain.item_ids(job_id) == list(range(5000))


def test_an_interrupted_submission_is_resumed_without_loss_or_repeat(
    queues: redis.Redis, producer_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    job_id = new_job_id()
    url_file = tmp_path / "urls.txt"
    url_file.write_text("".join(f"https://example.com/resume/{n}.html\n" for n in range(3000)))
    # Nothing consumes the fetch queue: the producer fills it to the mark and waits there.
    producer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.cli.main",
            "submit",
            "--job",
            job_id,
            "--file",
            str(url_file),
        ],
        env=producer_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    )
    try:
        _wait_for(
            lambda: job_counts(job_id)["states"].get("queued") == HIGH,
            what="the producer to fill the fetch queue",
        )
        assert queue_depths(queues, ["fetch"])["fetch"] == HIGH
        status = run_sluice(producer_env, "status", job_id, "--json")
        assert '"not_enqueued": 2500' in status.stdout
        assert '"enqueueing": true' in status.stdout
        # A resume now would send what the running producer is about to send: refused.
        refused = run_sluice(producer_env, "submit", "--resume", job_id)
        assert refused.returncode == 2
        assert "another producer" in refused.stderr
        producer.send_signal(signal.SIGINT)  # Ctrl-C
        # Generous: on two loaded cores, closing its connections once took over 30 s.
        _out, err = producer.communicate(timeout=90)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
    assert producer.returncode == 130, err
    assert "2,500 items recorded but not enqueued" in err
    assert f"sluice submit --resume {job_id}" in err
    assert job_counts(job_id)["states"] == {"queued": HIGH, "recorded": 2500}
    assert run_sluice(producer_env, "verify", job_id).returncode == 1
    status = run_sluice(producer_env, "status", job_id, "--json")
    assert '"enqueueing": false' in status.stdout

    with QueueDrain(redis_url, "fetch", per_second=2000) as drain:
        resumed = run_sluice(producer_env, "submit", "--resume", job_id)
        assert resumed.returncode == 0, resumed.stderr
        drain.until_empty()
    assert "2,500 items enqueued" in resumed.stderr
    assert drain.max_depth <= HIGH
    assert drain.item_ids(job_id) == list(range(3000))
    assert job_counts(job_id)["states"] == {"queued": 3000}


def test_resume_fails_texts_and_pages_it_cannot_rebuild(queues: redis.Redis) -> None:
    job_id = new_job_id()
    specs = [ItemSpec("url", "https://example.com/a.html"), ItemSpec("text", "A title")]
    create_job(job_id, [*specs, ItemSpec("html", None)], state=State.RECORDED)

    assert resume_job(job_id) == Resumed(job_id, enqueued=1, failed=2)

    rows = {row["item_id"]: row for row in list_items(job_id)}
    assert rows[0]["state"] == "queued"
    assert [(rows[n]["state"], rows[n]["reason"]) for n in (1, 2)] == [
        ("failed", "not_enqueued"),
        ("failed", "not_enqueued"),
    ]
    # The fetch item waits for its host's turn in the frontier, not as a message.
    assert queues.llen("fetch") == 0
    assert Frontier(queues).waiting_items("example.com") == [f"{job_id}:0"]


def _fill(client: redis.Redis, key: str, n: int) -> None:
    client.lpush(key, *[b"m"] * n)


def test_a_paused_producer_resumes_only_at_the_low_water_mark(queues: redis.Redis) -> None:
    stage = f"test-{uuid.uuid4().hex[:8]}"
    _fill(queues, stage, 1000)
    seen: list[int] = []

    def drain_some(full: str, depth: int) -> None:
        assert full == stage
        seen.append(depth)
        queues.rpop(stage, 100)

    gate = Backpressure(queues, stage, high=1000, low=400, watched=[], poll=0, on_wait=drain_some)
    try:
        with gate.admit(5000) as room:
            _fill(queues, stage, room)
    finally:
        queues.delete(stage)
    assert seen == [1000, 900, 800, 700, 600, 500]
    assert room == 600  # filled back to the high-water mark, not beyond
    assert gate.paused  # so the next batch waits for the low-water mark again


def test_a_full_downstream_queue_pauses_the_producer(queues: redis.Redis) -> None:
    stage = f"test-{uuid.uuid4().hex[:8]}"
    _fill(queues, "tag", 300)
    waits: list[tuple[str, int]] = []

    def drain_tag(full: str, depth: int) -> None:
        waits.append((full, depth))
        queues.rpop("tag", 30)

    gate = Backpressure(
        queues, stage, high=300, low=200, watched=["tag"], poll=0, on_wait=drain_tag
    )
    with gate.admit(50) as room:
        pass
    assert room == 50  # the entry queue is empty: the batch is not cut
    assert waits == [("tag", 300), ("tag", 270), ("tag", 240), ("tag", 210)]


def test_without_a_high_water_mark_nothing_waits(queues: redis.Redis) -> None:
    _fill(queues, "fetch", 10)
    gate = Backpressure(queues, "fetch", high=0, low=0, watched=["tag"])
    with gate.admit(12345) as room:
        assert room == 12345


def test_a_worker_thread_is_admitted_what_fits_now_and_never_waits(queues: redis.Redis) -> None:
    """admit_now (a feed poll's entries): the headroom below the high-water mark, or 0 at
    once while any watched queue is full or another producer holds the entry queue."""
    stage = f"test-{uuid.uuid4().hex[:8]}"
    _fill(queues, stage, 70)
    gate = Backpressure(queues, stage, high=100, low=50, watched=["tag"])
    try:
        with gate.admit_now(500) as room:
            assert room == 30  # up to the mark, not beyond
        with gate.admit_now(10) as room:
            assert room == 10
        _fill(queues, "tag", 100)
        started = time.monotonic()
        with gate.admit_now(10) as room:
            assert room == 0  # a full downstream queue: nothing now, and no wait
        queues.delete("tag")
        lock = queues.lock(f"sluice:submit-lock:{stage}", timeout=10)
        assert lock.acquire()
        try:
            with gate.admit_now(10) as room:
                assert room == 0  # another producer is sending: give up after a moment
        finally:
            lock.release()
        assert time.monotonic() - started < 2
    finally:
        queues.delete(stage, "tag")
