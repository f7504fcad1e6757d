"""Ordinary events end a command without a traceback: output piped into a reader that has
gone ends it quietly with 141 (cli.errors), Ctrl-C with one line and 130, and
``submit --wait --timeout`` says what was still pending. Real ``sluice`` processes on the
session's Redis and SQLite store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from sluice.shared.article import Article, Entity
from sluice.shared.jobs import ItemSpec, create_job
from sluice.workers.stages.store import store

EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141
EXIT_TIMEOUT = 3
NOWHERE = "http://127.0.0.1:9"  # discard port: nothing answers, and no worker runs here


@pytest.fixture
def env(redis_url: str, sqlite_url: str, tmp_path: Path, queues: redis.Redis) -> dict[str, str]:
    return {
        **os.environ,
        "SLUICE_REDIS_URL": redis_url,
        "SLUICE_DATABASE_URL": sqlite_url,
        "SLUICE_DATA_DIR": str(tmp_path),
        "SLUICE_QUEUE_HIGH_WATER": "100000",  # no backpressure pause: no worker drains
    }


@pytest.fixture
def small_store(sqlite_url: str) -> Iterator[tuple[str, str]]:
    """A job of three stored articles (the last a duplicate); its id and the first's."""
    job = uuid.uuid4().hex[:12]
    create_job(job, [ItemSpec("url", f"https://pipes.test/{job}/{i}") for i in range(3)])
    first = ""
    for i in range(3):
        text = f"Article {i} of {job}: the harbour council met on the ferry at dawn."
        article = Article(
            job_id=job,
            item_id=i,
            id=f"{job}{i:04d}",
            url=f"https://pipes.test/{job}/{i}",
            canonical_url=f"https://pipes.test/{job}/{i}",
            title=f"Harbour {i} " + "a long title " * 8,
            date="2026-11-30",
            sitename="Pipes Daily",
            language="en",
            text=text,
            entities=[Entity("council", "ORG", text.index("council"), text.index("council") + 7)],
        )
        if i == 2:
            article.duplicate_of, article.similarity = first, 0.95
        store(article, sqlite_url)
        first = first or article.id
    yield job, first


def _sluice(*args: str) -> list[str]:
    return [sys.executable, "-m", "sluice.cli.main", *args]


def _into_a_closed_pipe(env: dict[str, str], args: tuple[str, ...]) -> tuple[int, str]:
    """Run ``sluice ARGS`` with stdout a pipe whose reader has already gone (as after
    ``| head`` stopped reading): its first write fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            _sluice(*args),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=180,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


def test_every_printing_command_ends_quietly_with_141_on_a_closed_pipe(
    env: dict[str, str], small_store: tuple[str, str], tmp_path: Path
) -> None:
    job, article = small_store
    text_file = tmp_path / "article.txt"
    text_file.write_text("A text submitted on its own, to be tagged.")
    feed = f"{NOWHERE}/{job}/feed.xml"
    subprocess.run(_sluice("feeds", "add", feed), env=env, capture_output=True, check=True)
    commands = [
        ("--help",),
        ("--version",),
        ("articles", "search", "--help"),
        ("status",),
        ("status", job, "--json"),
        ("verify", job),
        ("verify", job, "--json"),
        ("articles", "list"),
        ("articles", "list", "--json", "--job", job),
        ("articles", "show", article),
        ("articles", "show", article, "--json"),
        ("articles", "search", "harbour council"),
        ("articles", "search", "harbour", "--json"),
        ("export", "--job", job),
        ("export", "--job", job, "--format", "csv"),
        ("failures", "list"),
        ("failures", "list", "--reasons", "--json"),
        ("feeds", "list"),
        ("feeds", "list", "--json"),
        ("feeds", "show", feed),
        ("feeds", "pause", feed),
        ("dedup", "rebuild", "--json"),
        ("db", "upgrade"),
        ("submit", "--text", str(text_file), "--job", job),
    ]
    try:
        ended = {" ".join(args): _into_a_closed_pipe(env, args) for args in commands}
    finally:
        subprocess.run(_sluice("feeds", "remove", feed), env=env, capture_output=True)
    wrong = {
        command: (code, stderr)
        for command, (code, stderr) in ended.items()
        if code != EXIT_CLOSED_PIPE or "Traceback" in stderr or "Exception ignored" in stderr
    }
    assert wrong == {}


def _interrupt_once_ready(
    env: dict[str, str],
    args: tuple[str, ...],
    ready: str,
    settled: Callable[[str], bool] | None = None,
) -> tuple[int, str, str]:
    """Start ``sluice ARGS``, wait for ``ready`` on its stdout (and then for ``settled`` of
    what it printed, if given), send SIGINT (as Ctrl-C does to the foreground process) and
    return its exit code, stdout and stderr."""
    process = subprocess.Popen(
        _sluice(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # the signal reaches this process only
    )
    try:
        assert process.stdout is not None
        seen = ""
        deadline = time.monotonic() + 120
        while ready not in seen and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            seen += line
        assert ready in seen, seen + (process.stderr.read() if process.stderr else "")
        while settled is not None and not settled(seen) and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, seen + out, err


def test_ctrl_c_ends_waits_and_watches_with_one_line_and_130(
    env: dict[str, str], small_store: tuple[str, str]
) -> None:
    job, _article = small_store
    code, _out, err = _interrupt_once_ready(env, ("status", "--watch", "0.2", "--json"), '"job"')
    assert code == EXIT_INTERRUPTED
    assert [json.loads(line) for line in err.splitlines()] == [
        {"error": "interrupted", "message": "interrupted", "exit_code": EXIT_INTERRUPTED}
    ]

    # --wait: the job id is printed before its items are sent; once sent, it waits, and
    # nothing will finish the item.
    def sent(out: str) -> bool:
        status = subprocess.run(
            _sluice("status", out.split()[0], "--json"), env=env, capture_output=True, text=True
        )
        return status.returncode == 0 and json.loads(status.stdout)["states"] == {"queued": 1}

    code, out, err = _interrupt_once_ready(
        env, ("submit", f"{NOWHERE}/{job}/never.html", "--wait"), "\n", sent
    )
    waited = out.split()[0]
    lines = [line for line in err.splitlines() if line.startswith("sluice")]
    assert code == EXIT_INTERRUPTED and "Traceback" not in err, err
    assert lines == [
        f"sluice submit: interrupted; job {waited} goes on in the workers: "
        "0 of 1 items final; still pending: queued=1"
    ], err


def test_a_timeout_says_what_was_still_pending(env: dict[str, str]) -> None:
    args = ("submit", f"{NOWHERE}/{uuid.uuid4().hex}.html", "--wait", "--timeout", "0.5")
    result = subprocess.run(_sluice(*args), env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == EXIT_TIMEOUT, result.stderr
    job = result.stdout.split()[0]
    assert result.stderr.splitlines()[-1] == (
        f"sluice submit: gave up waiting after 0.5 s: job {job}: "
        "0 of 1 items final; still pending: queued=1"
    )
    as_json = subprocess.run(
        _sluice(*args, "--json"), env=env, capture_output=True, text=True, timeout=180
    )
    assert as_json.returncode == EXIT_TIMEOUT
    error = json.loads(as_json.stderr.splitlines()[-1])
    assert error["error"] == "timeout" and "still pending: queued=1" in error["message"]
