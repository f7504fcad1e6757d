"""Named entities with spaCy, for the tag stage (:mod:`workers.stages.tag`).

The model is loaded once per worker process (:func:`load_model`), with only the
components NER needs. Long texts are tagged in chunks cut at paragraph or sentence-ish
boundaries, so no text is refused for exceeding spaCy's ``max_length``; offsets are
mapped back onto the whole text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sluice.shared.article import Article, Entity

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["chunk_spans", "load_model", "tag", "tag_texts", "text_to_tag"]

# The small pipelines' NER has its own embedding layer; these components do not feed it.
_NOT_NEEDED_FOR_NER = (
    "tagger",
    "morphologizer",
    "parser",
    "attribute_ruler",
    "lemmatizer",
    "senter",
)


@functools.cache
def load_model(name: str) -> Language:
    """Load spaCy model ``name`` once per process, when an article first needs it (it must
    be installed; nothing downloads)."""
    import spacy

    nlp = spacy.load(name, exclude=list(_NOT_NEEDED_FOR_NER))
    if "ner" not in nlp.pipe_names:
        raise RuntimeError(f"spaCy model {name!r} has no 'ner' component")
    return nlp


def chunk_spans(text: str, limit: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` spans covering ``text``, each at most ``limit`` characters long,
    cut after a blank line, a newline or a space where possible."""
    if limit < 1:
        raise ValueError(f"chunk limit must be at least 1 character, not {limit}")
    start = 0
    while start < len(text):
        end = min(len(text), start + limit)
        if end < len(text):
            for sep in ("\n\n", "\n", ". ", " "):
                cut = text.rfind(sep, start + limit // 2, end)
                if cut != -1:
                    end = cut + len(sep)
                    break
        yield start, end
        start = end


def tag_texts(nlp: Language, texts: list[str], chunk_chars: int) -> list[list[Entity]]:
    """Entities of several texts, tagged together in one ``nlp.pipe`` pass."""
    limit = min(chunk_chars, nlp.max_length)  # spaCy refuses anything longer
    pieces: list[tuple[int, int, str]] = []  # (text index, offset, chunk)
    for index, text in enumerate(texts):
        for start, end in chunk_spans(text, limit):
            pieces.append((index, start, text[start:end]))
    results: list[list[Entity]] = [[] for _ in texts]
    docs = nlp.pipe(chunk for _, _, chunk in pieces)
    for (index, offset, _chunk), doc in zip(pieces, docs, strict=True):
        results[index].extend(
            Entity(ent.text, ent.label_, offset + ent.start_char, offset + ent.end_char)
            for ent in doc.ents
        )
    return results


def text_to_tag(article: Article, max_chars: int | None = None) -> str:
    """The part of ``article.text`` that is tagged: its first ``max_chars`` characters.

    When the text is longer, ``article.entities_truncated`` records that the rest was not.
    """
    if max_chars is not None and len(article.text) > max_chars:
        article.entities_truncated = True
        return article.text[:max_chars]
    return article.text


def tag(
    article: Article, nlp: Language, chunk_chars: int = 100_000, max_chars: int | None = None
) -> Article:
    """Set ``article.entities`` from its text (at most ``max_chars`` of it)."""
    article.entities = tag_texts(nlp, [text_to_tag(article, max_chars)], chunk_chars)[0]
    return article
