"""Hostile exports: formula cells in CSV, an export killed half way in each format, a
closed or full stdout, and dates that do not parse."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from sqlalchemy import insert

from sluice.shared.article import Article
from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles
from sluice.shared.export_files import FORMULA_PREFIXES
from sluice.shared.jobs import ItemSpec, create_job
from sluice.workers.stages.store import store
from tests.support.binding import bind_store
from tests.support.cluster import run_sluice

CLI = [sys.executable, "-m", "sluice.cli.main"]


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "SLUICE_DATABASE_URL": database_url}


def _formula_articles(database_url: str) -> tuple[str, list[str]]:
    """One article a formula prefix, its title and author starting with it."""
    job = uuid.uuid4().hex[:12]
    titles = [
        f'{prefix}HYPERLINK("http://127.0.0.1/x","{n}")'
        for n, prefix in enumerate(FORMULA_PREFIXES)
    ]
    create_job(job, [ItemSpec("url", None) for _ in titles])
    for n, title in enumerate(titles):
        article = Article(
            job_id=job, item_id=n, id=f"{job}{n:04d}", title=title, author="-2+3", text="Plain."
        )
        store(article, database_url)
    return job, titles


def _csv_rows(database_url: str, *args: str) -> list[dict[str, str]]:
    """The rows ``sluice export --format csv ARGS`` writes, read as bytes (a CR stays one)."""
    result = subprocess.run(
        [*CLI, "export", "--format", "csv", *args],
        env=_env(database_url),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return list(csv.DictReader(io.StringIO(result.stdout.decode(), newline="")))


def test_csv_cells_of_every_formula_prefix_are_neutralized(database_url: str) -> None:
    job, titles = _formula_articles(database_url)
    rows = _csv_rows(database_url, "--job", job)
    assert [row["title"] for row in rows] == ["'" + title for title in titles]
    assert {row["author"] for row in rows} == {"'-2+3"}
    assert {row["text"] for row in rows} == {"Plain."}  # other cells as they were
    raw = _csv_rows(database_url, "--job", job, "--no-neutralize-formulas")
    assert [row["title"] for row in raw] == titles
    # JSONL is data, not a spreadsheet: left as it is.
    jsonl = run_sluice(_env(database_url), "export", "--job", job)
    assert [json.loads(line)["title"] for line in jsonl.stdout.splitlines()] == titles


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store of its own with 20,000 articles: 20 pages of export, long enough to kill."""
    url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}"
    bind_store(url)  # of the tests' cluster, like the session's Redis the commands use
    rows = [
        {
            "id": f"{n:08d}",
            "job_id": "big",
            "title": f"Article {n}",
            "text": f"Text of article {n}. " * 10,
            "timings": {},
        }
        for n in range(20_000)
    ]
    with get_engine(url).begin() as conn:
        conn.execute(insert(articles), rows)
    get_engine(url).dispose()
    return url


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_a_killed_export_leaves_no_file_under_the_final_name(
    big_store: str, tmp_path: Path, fmt: str
) -> None:
    out = tmp_path / "out" / f"articles.{fmt}"
    out.parent.mkdir()
    export = subprocess.Popen([*CLI, "export", "-o", str(out)], env=_env(big_store))
    deadline = time.monotonic() + 120
    # Killed once the first page is written to the temporary file.
    while not any(p.stat().st_size > 0 for p in out.parent.glob(f".{out.name}.*.part")):
        assert export.poll() is None, "the export ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    export.send_signal(signal.SIGKILL)
    export.wait()
    assert not out.exists()
    (partial,) = out.parent.iterdir()  # only the hidden temporary file
    assert partial.name.startswith(f".{out.name}.") and partial.name.endswith(".part")
    # Run to its end, the same export leaves the whole file and no temporary one.
    done = run_sluice(_env(big_store), "export", "-o", str(out), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "20,000 articles written" in done.stderr
    assert sorted(p.name for p in out.parent.iterdir()) == sorted([partial.name, out.name])
    if fmt == "parquet":
        assert pq.read_metadata(out).num_rows == 20_000
    elif fmt == "jsonl":
        assert len(out.read_text().splitlines()) == 20_000


def test_a_closed_stdout_is_quiet_and_a_full_one_is_one_line(big_store: str) -> None:
    closed = subprocess.Popen(
        [*CLI, "export"], env=_env(big_store), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert closed.stdout is not None and closed.stderr is not None
    closed.stdout.read(100)
    closed.stdout.close()  # like `sluice export | head -c 100`
    err = closed.stderr.read().decode()
    assert closed.wait(timeout=120) == 141  # as every command on a closed pipe (cli.errors)
    assert err == ""
    with open("/dev/full", "wb") as full:
        result = subprocess.run(
            [*CLI, "export", "--format", "parquet"],
            env=_env(big_store),
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    assert result.returncode == 1
    assert result.stderr.decode() == "sluice export: cannot write stdout: No space left on device\n"


@pytest.mark.parametrize(
    "command",
    [
        ("export", "--since", "2025-13-45"),
        ("export", "--until", "yesterday"),
        ("export", "--since", "2025-02-30"),
        ("articles", "search", "ferry", "--since", "yesterday"),
        ("submit", "https://127.0.0.1/a", "--since", "2025-13-45"),
        ("submit", "https://127.0.0.1/a", "--until", "last week"),
    ],
)
def test_dates_that_do_not_parse_are_usage_errors(
    sqlite_url: str, command: tuple[str, ...]
) -> None:
    result = run_sluice(_env(sqlite_url), *command)
    assert result.returncode == 2, result.stderr
    assert f"argument {command[-2]}: not a" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_an_output_that_cannot_be_a_file_is_one_line_and_leaves_nothing(
    sqlite_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    for target, why in ((folder, "Is a directory"), (tmp_path / "no" / "x.csv", "No such file")):
        result = run_sluice(_env(sqlite_url), "export", "-o", str(target))
        assert result.returncode == 2
        assert result.stderr.startswith(f"sluice export: cannot write {target}: {why}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]  # no temporary file left
    assert list(folder.iterdir()) == []
