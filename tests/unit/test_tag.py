"""workers.stages.tag: entities with the installed spaCy model, and chunked tagging."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from sluice.shared.article import Article
from sluice.shared.settings import Settings
from sluice.workers.tagging.entities import chunk_spans, load_model, tag, tag_texts

if TYPE_CHECKING:
    from spacy.language import Language

TEXT = (
    "Angela Merkel met Emmanuel Macron in Paris on Monday. "
    "Apple said it would open a new office in Berlin next year."
)


@pytest.fixture(scope="module")
def nlp() -> Language:
    """The configured model, loaded once for the whole session (load_model caches it)."""
    return load_model(Settings().spacy_pipelines["en"])


def _spans(article: Article) -> set[tuple[str, str]]:
    return {(e.text, e.label) for e in article.entities}


def test_model_is_loaded_once_with_only_what_ner_needs(nlp: Language) -> None:
    assert load_model(Settings().spacy_pipelines["en"]) is nlp
    assert "ner" in nlp.pipe_names
    assert "parser" not in nlp.pipe_names and "lemmatizer" not in nlp.pipe_names


def test_entities_of_a_small_english_text(nlp: Language) -> None:
    article = tag(Article("j", 0, text=TEXT), nlp)
    assert {
        ("Angela Merkel", "PERSON"),
        ("Emmanuel Macron", "PERSON"),
        ("Paris", "GPE"),
        ("Apple", "ORG"),
        ("Berlin", "GPE"),
    } <= _spans(article)
    for entity in article.entities:
        assert TEXT[entity.start : entity.end] == entity.text
    assert [e.start for e in article.entities] == sorted(e.start for e in article.entities)


def test_empty_text_has_no_entities(nlp: Language) -> None:
    assert tag(Article("j", 0, text=""), nlp).entities == []


def test_tagging_again_replaces_entities(nlp: Language) -> None:
    article = tag(Article("j", 0, text=TEXT), nlp)
    first = list(article.entities)
    assert tag(article, nlp).entities == first


def _check_cover(text: str, limit: int) -> list[tuple[int, int]]:
    spans = list(chunk_spans(text, limit))
    assert spans, "a non-empty text has at least one chunk"
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end == start  # no gap, no overlap
    for start, end in spans:
        assert 0 < end - start <= limit
    return spans


@pytest.mark.parametrize("limit", [1, 2, 7, 40, 100, 10_000])
def test_chunk_spans_cover_the_text(limit: int) -> None:
    text = ("First paragraph here. It has two sentences.\n\n" * 5) + "Last line\nend " * 7
    _check_cover(text, limit)


def test_chunk_spans_of_a_text_without_separators() -> None:
    spans = _check_cover("x" * 95, 10)
    assert len(spans) == 10


def test_chunk_spans_prefer_paragraph_breaks() -> None:
    text = "a" * 30 + "\n\n" + "b" * 30 + ". " + "c" * 10
    ends = [end for _, end in _check_cover(text, 60)]
    assert ends[0] == 32  # after the blank line, not after ". " or mid-word


def test_chunk_spans_of_an_empty_text() -> None:
    assert list(chunk_spans("", 10)) == []


@pytest.mark.parametrize("limit", [0, -5])
def test_chunk_spans_refuse_a_limit_below_one(limit: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next(chunk_spans("some text", limit))


def _long_text(paragraphs: int) -> str:
    people = ["Angela Merkel", "Emmanuel Macron", "Olaf Scholz", "Giorgia Meloni"]
    return "\n\n".join(
        f"In paragraph {n}, {people[n % 4]} travelled to Berlin to meet officials from Siemens."
        for n in range(paragraphs)
    )


def test_chunked_tagging_keeps_offsets_right(nlp: Language) -> None:
    text = _long_text(30)
    chunked = tag(Article("j", 0, text=text), nlp, chunk_chars=200).entities
    whole = tag(Article("j", 0, text=text), nlp, chunk_chars=100_000).entities
    assert len(list(chunk_spans(text, 200))) > 10
    for entity in chunked:
        assert text[entity.start : entity.end] == entity.text
    # Cuts fall on paragraph breaks here, so chunking finds the same places and people (labels
    # of numbers may change with less context).
    for label in ("GPE", "PERSON"):
        assert {(e.start, e.end) for e in chunked if e.label == label} == {
            (e.start, e.end) for e in whole if e.label == label
        }
    assert sum(1 for e in chunked if e.text == "Berlin") == 30


def test_several_texts_in_one_pass(nlp: Language) -> None:
    texts = [TEXT, "", _long_text(3)]
    results = tag_texts(nlp, texts, chunk_chars=100)
    assert len(results) == 3
    assert results[1] == []
    for text, entities in zip(texts, results, strict=True):
        for entity in entities:
            assert text[entity.start : entity.end] == entity.text


@pytest.fixture
def short_model(nlp: Language) -> Iterator[Language]:
    """The session's model with ``max_length`` lowered, so 'too long' stays quick to reach."""
    original = nlp.max_length
    nlp.max_length = 500
    yield nlp
    nlp.max_length = original


def test_text_longer_than_max_length_is_tagged(short_model: Language) -> None:
    text = _long_text(40)
    assert len(text) > 5 * short_model.max_length
    with pytest.raises(ValueError, match="E088"):
        short_model(text)  # what tag() must avoid
    article = tag(Article("j", 0, text=text), short_model, chunk_chars=Settings().tag_chunk_chars)
    assert sum(1 for e in article.entities if e.text == "Berlin") == 40
    for entity in article.entities:
        assert text[entity.start : entity.end] == entity.text
