"""Tag stage: named entities with spaCy (:mod:`workers.entities`), tagging ahead when
``SLUICE_TAG_BATCH_SIZE`` is above 1 (:mod:`workers.tag_ahead`)."""

from __future__ import annotations

import functools

from sluice.shared.article import Article
from sluice.shared.outcomes import Forward, Outcome
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.entities import load_model
from sluice.workers.tag_ahead import TagAhead, tag_with_lookahead

__all__ = ["run"]


@functools.cache
def _tag_ahead() -> TagAhead:
    settings = get_settings()
    return TagAhead(get_redis(), settings.spacy_model, settings.tag_chunk_chars)


def run(article: Article) -> Outcome:
    """The tag stage: set the article's entities."""
    settings = get_settings()
    tag_with_lookahead(
        article,
        load_model(settings.spacy_model),
        _tag_ahead(),
        chunk_chars=settings.tag_chunk_chars,
        max_chars=settings.tag_max_chars,
        batch_size=settings.tag_batch_size,
        ahead_max_chars=settings.tag_ahead_max_chars,
    )
    return Forward()
