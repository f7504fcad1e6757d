"""Tag stage: named entities with the spaCy pipeline of the article's language
(``SLUICE_SPACY_MODELS``, :mod:`workers.tagging.entities`), tagging ahead when
``SLUICE_TAG_BATCH_SIZE`` is above 1 (:mod:`workers.tagging.tag_ahead`).

An article in a language that no pipeline is set for is stored without entities, and says
why (``entities_skipped = no_model_for_language``): another language's model would tag it
with confident nonsense.
"""

from __future__ import annotations

import functools

from sluice.shared.article import Article
from sluice.shared.language import settle_language
from sluice.shared.outcomes import Forward, Outcome
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.settings import get_settings
from sluice.workers.tagging.entities import load_model
from sluice.workers.tagging.tag_ahead import TagAhead, tag_with_lookahead

__all__ = ["model_for", "run"]


@functools.cache
def _tag_ahead(model: str) -> TagAhead:
    return TagAhead(get_redis(), model, get_settings().tag_chunk_chars)


def model_for(language: str | None, models: dict[str, str]) -> str | None:
    """The pipeline set for ``language`` in ``models`` (``Settings.spacy_pipelines``), if any."""
    return models.get((language or "").lower())


def run(article: Article) -> Outcome:
    """The tag stage: set the article's entities, or why it has none."""
    settings = get_settings()
    settle_language(article)  # a text submitted before languages were kept
    model = model_for(article.language, settings.spacy_pipelines)
    if model is None:
        article.entities = []
        article.entities_skipped = Reason.NO_MODEL_FOR_LANGUAGE.value
        return Forward()
    article.entities_skipped = None
    tag_with_lookahead(
        article,
        load_model(model),
        _tag_ahead(model),
        chunk_chars=settings.tag_chunk_chars,
        max_chars=settings.tag_max_chars,
        batch_size=settings.tag_batch_size,
        ahead_max_chars=settings.tag_ahead_max_chars,
    )
    return Forward()
