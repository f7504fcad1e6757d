"""shared.article: the record that travels the pipeline survives a trip through JSON."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest

from sluice.shared.article import (
    DESCRIPTION_FIELDS,
    MESSAGE_ONLY_FIELDS,
    PROVENANCE_FIELDS,
    STORED_FIELDS,
    UPDATABLE_FIELDS,
    Article,
    Entity,
)
from sluice.shared.db.schema import articles
from sluice.shared.export import FIELDS

TEXT = "Angela Merkel met Emmanuel Macron in Paris."


def _full_article() -> Article:
    return Article(
        job_id="0123456789ab",
        item_id=7,
        id="a" * 24,
        url="https://example.com/a?utm_source=x",
        canonical_url="https://example.com/a",
        title="Leaders meet — again “in Paris”",
        author="Desk",
        date="2023-05-27",
        sitename="Example News",
        language="en",
        description="A meeting.",
        text=TEXT,
        entities=[Entity("Angela Merkel", "PERSON", 0, 13), Entity("Paris", "GPE", 37, 42)],
        duplicate_of="b" * 24,
        similarity=0.93,
        page_id="c" * 64,
        refetch=True,
        entities_truncated=True,
        timings={"fetch": 0.12, "extract": 0.03},
    )


def test_round_trip_through_json_keeps_every_field() -> None:
    article = _full_article()
    again = Article.from_dict(json.loads(json.dumps(article.to_dict())))
    assert again == article
    assert again.entities[0] == Entity("Angela Merkel", "PERSON", 0, 13)
    assert {f.name for f in dataclasses.fields(Article)} == set(article.to_dict())


def test_round_trip_of_a_minimal_article() -> None:
    article = Article(job_id="j", item_id=0)
    data = json.loads(json.dumps(article.to_dict()))
    again = Article.from_dict(data)
    assert again == article
    assert again.entities == [] and again.timings == {}
    assert not again.is_duplicate


def test_from_dict_ignores_unknown_fields_and_fills_defaults() -> None:
    # A message written by a newer (or older) version must still decode.
    again = Article.from_dict({"job_id": "j", "item_id": 3, "shiny_new_field": 1})
    assert again == Article(job_id="j", item_id=3)


def test_to_dict_is_a_copy() -> None:
    article = _full_article()
    data = article.to_dict()
    data["timings"]["store"] = 1.0
    data["entities"].clear()
    assert "store" not in article.timings
    assert len(article.entities) == 2


def test_entity_spans_index_the_text() -> None:
    article = _full_article()
    for entity in article.entities:
        assert article.text[entity.start : entity.end] == entity.text
    assert Entity.from_dict(article.entities[1].to_dict()) == article.entities[1]


def test_entity_from_dict_coerces_offsets() -> None:
    entity = Entity.from_dict({"text": "Paris", "label": "GPE", "start": "37", "end": 42.0})
    assert (entity.start, entity.end) == (37, 42)
    assert isinstance(entity.start, int) and isinstance(entity.end, int)


def test_entity_is_immutable() -> None:
    entity = Entity("Paris", "GPE", 37, 42)
    with pytest.raises(dataclasses.FrozenInstanceError):
        entity.label = "LOC"  # type: ignore[misc]


def test_is_duplicate() -> None:
    assert Article("j", 0, duplicate_of="x").is_duplicate
    assert not Article("j", 0).is_duplicate


def test_article_pickles() -> None:
    # Celery may pickle results and exceptions that carry an article.
    article = _full_article()
    assert pickle.loads(pickle.dumps(article)) == article


def test_the_field_lists_name_fields_of_article() -> None:
    names = {f.name for f in dataclasses.fields(Article)}
    for listed in (DESCRIPTION_FIELDS, PROVENANCE_FIELDS, MESSAGE_ONLY_FIELDS):
        assert set(listed) <= names, set(listed) - names
    assert set(DESCRIPTION_FIELDS) | set(PROVENANCE_FIELDS) <= set(STORED_FIELDS)


def test_the_store_columns_are_the_stored_fields() -> None:
    """A field added to Article is either a column of ``articles`` or message-only."""
    columns = {column.name for column in articles.columns} - {"created_at", "updated_at"}
    assert set(STORED_FIELDS) == columns


def test_storing_again_keeps_identity_and_provenance() -> None:
    assert set(STORED_FIELDS) - set(UPDATABLE_FIELDS) == {"id", *PROVENANCE_FIELDS}


def test_the_export_schema_stays_as_documented() -> None:
    """``sluice-article/2`` is versioned: its fields change only with its version."""
    assert FIELDS == (
        "schema",
        "id",
        "url",
        "canonical_url",
        "title",
        "author",
        "published",
        "site",
        "language",
        "description",
        "text",
        "job",
        "duplicate_of",
        "similarity",
        "stored_at",
    )
