"""Dedup stage: is this article an original, or a duplicate of one already seen?

The decision is the index's (:mod:`workers.dedup`); this stage asks it and says where the
article goes next: originals to tag, duplicates straight to store.
"""

from __future__ import annotations

import functools

from sluice.shared import fingerprints
from sluice.shared.article import Article
from sluice.shared.identity import text_fingerprint
from sluice.shared.outcomes import Final, Forward, Outcome, failed
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.states import State
from sluice.workers.dedup.index import DedupIndex
from sluice.workers.dedup.keys import identity_of

__all__ = ["dedup", "dedup_index", "run"]


@functools.cache
def dedup_index() -> DedupIndex:
    """This process's index, on the shared Redis."""
    return DedupIndex(get_redis())


def dedup(article: Article, index: DedupIndex) -> Article:
    """Decide whether ``article`` is an original; if not, set ``duplicate_of`` and
    ``similarity``."""
    decision = index.decide(
        identity_of(article),
        text_fingerprint(article.text),
        article.item_key,
        article.id,
        takeover=article.refetch,
        near=fingerprints.fingerprint(article.text, index.layout) if index.near else None,
    )
    if not decision.is_original:
        article.duplicate_of = decision.article_id
        article.similarity = decision.similarity if decision.similarity is not None else 1.0
    return article


def run(article: Article) -> Outcome:
    """The dedup stage: originals go on to tag; duplicates skip it, the costliest stage."""
    if not article.text.strip():
        return failed(Reason.EMPTY_TEXT, "nothing to deduplicate or tag")
    dedup(article, dedup_index())
    if article.duplicate_of == article.id:
        # The same page submitted again: it is already (being) stored under this id.
        return Final(State.DUPLICATE, Reason.ALREADY_SUBMITTED, duplicate_of=article.id)
    return Forward("store") if article.is_duplicate else Forward()
