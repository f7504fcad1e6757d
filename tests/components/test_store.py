"""workers.stages.store and shared.jobs on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from sluice.shared.article import Article, Entity
from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, entities, items, jobs
from sluice.shared.jobs import (
    ItemSpec,
    advance_item,
    create_job,
    finish_item,
    job_counts,
    job_exists,
    list_items,
    new_job_id,
)
from sluice.shared.states import State
from sluice.workers.stages.store import store

TEXT = "Angela Merkel met Emmanuel Macron in Paris."


def _job(count: int = 1) -> str:
    job_id = new_job_id()
    create_job(job_id, [ItemSpec("url", f"https://example.com/{n}") for n in range(count)])
    return job_id


def _article(job_id: str, item_id: int = 0, **extra: Any) -> Article:
    values: dict[str, Any] = {
        "id": f"{job_id}-{item_id}",
        "url": f"https://example.com/{item_id}",
        "canonical_url": f"https://example.com/{item_id}",
        "title": "Leaders meet",
        "text": TEXT,
        "entities": [Entity("Angela Merkel", "PERSON", 0, 13), Entity("Paris", "GPE", 37, 42)],
        "timings": {"fetch": 0.25},
    }
    return Article(job_id, item_id, **(values | extra))


def _item(job_id: str, item_id: int = 0) -> dict[str, Any]:
    with get_engine().connect() as conn:
        row = conn.execute(
            select(items).where(items.c.job_id == job_id, items.c.item_id == item_id)
        ).one()
    return dict(row._mapping)


def _rows(table: Any, *conditions: Any) -> list[dict[str, Any]]:
    with get_engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).where(*conditions))]


def test_store_twice_leaves_one_article_and_one_set_of_entities(database_url: str) -> None:
    job_id = _job()
    article = _article(job_id)

    assert store(article) == State.STORED
    assert store(article) == State.STORED

    (row,) = _rows(articles, articles.c.id == article.id)
    assert (row["title"], row["text"], row["timings"]) == ("Leaders meet", TEXT, {"fetch": 0.25})
    assert row["duplicate_of"] is None and row["entities_truncated"] is False
    stored = _rows(entities, entities.c.article_id == article.id)
    assert sorted((e["text"], e["label"], e["start_char"], e["end_char"]) for e in stored) == [
        ("Angela Merkel", "PERSON", 0, 13),
        ("Paris", "GPE", 37, 42),
    ]
    item = _item(job_id)
    assert (item["state"], item["article_id"], item["reason"]) == ("stored", article.id, None)


def test_store_again_replaces_the_article_and_its_entities(database_url: str) -> None:
    job_id = _job()
    store(_article(job_id))
    store(_article(job_id, title="Leaders meet again", entities=[Entity("Paris", "GPE", 37, 42)]))

    (row,) = _rows(articles, articles.c.id == f"{job_id}-0")
    assert row["title"] == "Leaders meet again"
    stored = _rows(entities, entities.c.article_id == f"{job_id}-0")
    assert [(e["text"], e["start_char"]) for e in stored] == [("Paris", 37)]


def test_store_a_duplicate(database_url: str) -> None:
    job_id = _job(2)
    store(_article(job_id, 0))
    copy = _article(job_id, 1, duplicate_of=f"{job_id}-0", similarity=1.0, entities=[])

    assert store(copy) == State.DUPLICATE

    item = _item(job_id, 1)
    assert (item["state"], item["duplicate_of"], item["article_id"]) == (
        "duplicate",
        f"{job_id}-0",
        copy.id,
    )
    (row,) = _rows(articles, articles.c.id == copy.id)
    assert (row["duplicate_of"], row["similarity"]) == (f"{job_id}-0", 1.0)
    assert _rows(entities, entities.c.article_id == copy.id) == []


def test_store_keeps_a_final_state_reached_earlier(database_url: str) -> None:
    job_id = _job()
    finish_item(job_id, 0, State.FAILED, reason="time_limit")
    store(_article(job_id))
    assert (_item(job_id)["state"], _item(job_id)["reason"]) == ("failed", "time_limit")


def test_advance_item_only_moves_forward(database_url: str) -> None:
    job_id = _job()
    assert _item(job_id)["state"] == "queued"

    advance_item(job_id, 0, State.EXTRACTED, article_id="a1")
    assert (_item(job_id)["state"], _item(job_id)["article_id"]) == ("extracted", "a1")

    advance_item(job_id, 0, State.FETCHED)  # late, out of order: ignored
    advance_item(job_id, 0, State.EXTRACTED)  # the same again: no change
    assert _item(job_id)["state"] == "extracted"

    advance_item(job_id, 0, State.TAGGED)
    assert _item(job_id)["state"] == "tagged"

    finish_item(job_id, 0, State.STORED, article_id="a1")
    advance_item(job_id, 0, State.TAGGED)
    advance_item(job_id, 0, State.FETCHED)
    assert _item(job_id)["state"] == "stored"


def test_finish_item_never_overwrites_a_final_state(database_url: str) -> None:
    job_id = _job()
    finish_item(job_id, 0, State.FAILED, reason="http_404", detail="fetch: gone")
    for state in (State.STORED, State.DUPLICATE, State.UNCHANGED):
        finish_item(job_id, 0, state, article_id="x")
    finish_item(job_id, 0, State.FAILED, reason="timeout")
    item = _item(job_id)
    assert (item["state"], item["reason"], item["detail"], item["article_id"]) == (
        "failed",
        "http_404",
        "fetch: gone",
        None,
    )


def test_finish_item_only_takes_final_states(database_url: str) -> None:
    job_id = _job()
    with pytest.raises(AssertionError):
        finish_item(job_id, 0, State.TAGGED)


def test_finish_item_keeps_details_short(database_url: str) -> None:
    job_id = _job()
    finish_item(job_id, 0, State.FAILED, reason="internal_error", detail="x" * 10_000)
    assert len(_item(job_id)["detail"]) == 2000


def test_job_counts(database_url: str) -> None:
    job_id = _job(6)
    finish_item(job_id, 0, State.STORED, article_id="a")
    finish_item(job_id, 1, State.DUPLICATE, article_id="b", duplicate_of="a")
    finish_item(job_id, 2, State.FAILED, reason="http_404")
    finish_item(job_id, 3, State.FAILED, reason="http_404")
    advance_item(job_id, 4, State.FETCHED)

    counts = job_counts(job_id)

    assert counts == {
        "job": job_id,
        "submitted": 6,
        "final": 4,
        "pending": 2,
        "missing": 0,
        "states": {"stored": 1, "duplicate": 1, "failed": 2, "fetched": 1, "queued": 1},
        "reasons": {"http_404": 2},
    }


def test_job_counts_shows_items_never_recorded(database_url: str) -> None:
    job_id = _job(2)
    with get_engine().begin() as conn:  # as if the producer died after announcing 5 items
        conn.execute(update(jobs).where(jobs.c.id == job_id).values(total=5))
    counts = job_counts(job_id)
    assert (counts["submitted"], counts["final"], counts["pending"], counts["missing"]) == (
        5,
        0,
        2,
        3,
    )


def test_job_counts_of_everything_adds_up_jobs(database_url: str) -> None:
    before = job_counts()
    job_id = _job(3)
    finish_item(job_id, 0, State.FAILED, reason="not_html")
    after = job_counts()
    assert after["job"] is None
    assert after["submitted"] - before["submitted"] == 3
    assert after["final"] - before["final"] == 1
    assert after["pending"] - before["pending"] == 2
    assert after["reasons"].get("not_html", 0) - before["reasons"].get("not_html", 0) == 1


def test_job_counts_of_an_unknown_job(database_url: str) -> None:
    counts = job_counts("no-such-job")
    assert (counts["submitted"], counts["final"], counts["pending"], counts["missing"]) == (
        0,
        0,
        0,
        0,
    )
    assert counts["states"] == {} and counts["reasons"] == {}


def test_create_job_adds_items_to_an_existing_job(database_url: str) -> None:
    job_id = new_job_id()
    assert not job_exists(job_id)
    assert create_job(job_id, [ItemSpec("url", "https://example.com/a")]) == 0
    assert create_job(job_id, [ItemSpec("text", "A title"), ItemSpec("html", None)]) == 1
    assert job_exists(job_id)
    listed = list_items(job_id)
    assert [(i["item_id"], i["kind"], i["source"], i["state"]) for i in listed] == [
        (0, "url", "https://example.com/a", "queued"),
        (1, "text", "A title", "queued"),
        (2, "html", None, "queued"),
    ]
    assert job_counts(job_id)["submitted"] == 3
    with get_engine().connect() as conn:
        total = conn.execute(select(func.count()).where(items.c.job_id == job_id)).scalar()
    assert total == 3


def test_list_items_by_state(database_url: str) -> None:
    job_id = _job(3)
    finish_item(job_id, 1, State.FAILED, reason="http_404")
    assert [i["item_id"] for i in list_items(job_id, ["failed"])] == [1]
    assert [i["item_id"] for i in list_items(job_id, ["queued", "failed"])] == [0, 1, 2]
    assert list_items(job_id, []) == []
