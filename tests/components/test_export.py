"""sluice export and articles list paging, on SQLite and PostgreSQL, from articles the store
stage stored."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid

import pyarrow.parquet as pq
import pytest

from sluice.shared.article import Article, Entity
from sluice.shared.export import FIELDS, SCHEMA, ExportFilter, export_pages
from sluice.shared.jobs import ItemSpec, create_job
from sluice.shared.queries import iter_articles, list_articles
from sluice.workers.stages.store import store
from tests.support.cluster import run_sluice


def _stored(database_url: str, n: int = 5) -> tuple[str, list[Article]]:
    """``n`` articles of a new job: every third a duplicate, languages and sites alternate."""
    job = uuid.uuid4().hex[:12]
    create_job(job, [ItemSpec("url", f"https://x.test/{i}") for i in range(n)])
    made = []
    for i in range(n):
        text = f"Article {i} of job {job}: the council met on the ferry. Ünïcödé ✓"
        article = Article(
            job_id=job,
            item_id=i,
            id=f"{job}{i:04d}"[:32],
            url=f"https://{'a' if i % 2 else 'b'}.test/{i}",
            canonical_url=f"https://{'a' if i % 2 else 'b'}.test/{i}",
            title=f"Title {i}",
            date=f"2026-01-{i + 1:02d}",
            sitename="Alpha News" if i % 2 else "Beta Daily",
            language="en" if i % 2 else "de",
            text=text,
            entities=[Entity("council", "ORG", text.index("council"), text.index("council") + 7)],
        )
        if i % 3 == 2:
            article.duplicate_of, article.similarity = made[0].id, 0.9
        store(article, database_url)
        made.append(article)
    return job, made


def _env(database_url: str) -> dict[str, str]:
    return {**os.environ, "SLUICE_DATABASE_URL": database_url}


def test_export_pages_are_bounded_and_cover_every_row(database_url: str) -> None:
    job, made = _stored(database_url, 7)
    pages = list(export_pages(ExportFilter(job=job), page_size=3, with_entities=True))
    assert [len(p) for p in pages] == [3, 3, 1]
    rows = [row for page in pages for row in page]
    assert [r["id"] for r in rows] == sorted(a.id for a in made)
    assert set(rows[0]) == {*FIELDS, "entities"}
    assert rows[0]["schema"] == SCHEMA
    start = made[0].text.index("council")
    assert rows[0]["entities"] == [
        {"text": "council", "label": "ORG", "start": start, "end": start + 7}
    ]


def test_export_filters(database_url: str) -> None:
    job, made = _stored(database_url, 6)

    def ids(**where: str) -> list[str]:
        return [r["id"] for p in export_pages(ExportFilter(job=job, **where)) for r in p]

    assert ids(language="EN") == [a.id for a in made if a.language == "en"]
    assert ids(site="Alpha News") == ids(site="a.test") == [a.id for a in made if "a.test" in a.url]
    assert ids(duplicates="only") == [a.id for a in made if a.duplicate_of]
    assert ids(duplicates="exclude") == [a.id for a in made if not a.duplicate_of]
    assert ids(since="2026-01-02", until="2026-01-04") == [a.id for a in made[1:4]]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_sluice_export_writes_each_format_to_stdout(database_url: str, fmt: str) -> None:
    job, made = _stored(database_url, 4)
    args = ("export", "--job", job, "--format", fmt, "--entities")
    result = subprocess.run(
        [sys.executable, "-m", "sluice.cli.main", *args],
        env=_env(database_url),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    raw = result.stdout
    if fmt == "jsonl":
        rows = [json.loads(line) for line in raw.decode().splitlines()]
        entities = rows[0]["entities"]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(raw.decode())))
        entities = json.loads(rows[0]["entities"])
    else:
        table = pq.read_table(io.BytesIO(raw))
        assert table.schema.metadata[b"sluice.schema"] == SCHEMA.encode()
        rows = table.to_pylist()
        entities = rows[0]["entities"]
    assert [r["id"] for r in rows] == [a.id for a in made]
    assert rows[0]["text"] == made[0].text and rows[0]["schema"] == SCHEMA
    assert entities[0]["label"] == "ORG"
    assert b"4 articles written" in result.stderr


def test_sluice_export_to_a_parquet_file_without_entities(database_url: str, tmp_path) -> None:
    job, _ = _stored(database_url, 3)
    out = tmp_path / "articles.parquet"
    result = run_sluice(_env(database_url), "export", "--job", job, "-o", str(out), timeout=120)
    assert result.returncode == 0, result.stderr
    table = pq.read_table(out)
    assert table.column_names == list(FIELDS) and table.num_rows == 3


def test_articles_list_pages_instead_of_stopping_at_100(database_url: str) -> None:
    job, _ = _stored(database_url, 130)
    everything = list(iter_articles(job, page_size=40))
    assert len(everything) == 130 and len({r["id"] for r in everything}) == 130
    first = list_articles(job, 50)
    second = list_articles(job, 50, after=first[-1]["id"])
    assert [r["id"] for r in first + second] == [r["id"] for r in everything[:100]]
    result = run_sluice(_env(database_url), "articles", "list", "--job", job, "--json")
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 130
