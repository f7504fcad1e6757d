"""Quality unchanged: the articles both runs stored, compared one by one.

Each page has a URL of its own, so the two stores are matched by URL; for every article the
main text and the entities (text, label, offsets) must be the same in both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, entities

__all__ = ["Comparison", "compare", "stored_articles"]

Stored = tuple[str, tuple[tuple[str, str, int, int], ...]]


def stored_articles(database_url: str, job_id: str | None = None) -> dict[str, Stored]:
    """``{url: (text, entities)}`` of the articles in a store (one job's, if given)."""
    found: dict[str, tuple[str, list[tuple[str, str, int, int]]]] = {}
    ids: dict[str, str] = {}
    with get_engine(database_url).connect() as conn:
        query = select(articles.c.id, articles.c.url, articles.c.text)
        if job_id is not None:
            query = query.where(articles.c.job_id == job_id)
        for article_id, url, text in conn.execute(query):
            ids[article_id] = url
            found[url] = (text or "", [])
        rows = conn.execute(
            select(
                entities.c.article_id,
                entities.c.text,
                entities.c.label,
                entities.c.start_char,
                entities.c.end_char,
            )
        )
        for article_id, text, label, start, end in rows:
            if article_id in ids:
                found[ids[article_id]][1].append((text, label, start, end))
    return {url: (text, tuple(sorted(spans))) for url, (text, spans) in found.items()}


@dataclass
class Comparison:
    """How the sluice run's articles compare with the baseline's."""

    compared: int = 0
    same: int = 0
    text_differs: list[str] = field(default_factory=list)
    entities_differ: list[str] = field(default_factory=list)
    only_baseline: list[str] = field(default_factory=list)
    only_sluice: list[str] = field(default_factory=list)

    def as_dict(self, examples: int = 5) -> dict[str, Any]:
        return {
            "compared": self.compared,
            "same": self.same,
            "text_differs": len(self.text_differs),
            "entities_differ": len(self.entities_differ),
            "only_baseline": len(self.only_baseline),
            "only_sluice": len(self.only_sluice),
            "examples": (self.text_differs + self.entities_differ + self.only_baseline)[:examples],
        }


def compare(baseline: dict[str, Stored], sluice: dict[str, Stored]) -> Comparison:
    """Article by article: the same text, and the same entities at the same offsets."""
    result = Comparison()
    result.only_baseline = sorted(set(baseline) - set(sluice))
    result.only_sluice = sorted(set(sluice) - set(baseline))
    for url in sorted(set(baseline) & set(sluice)):
        result.compared += 1
        (base_text, base_entities), (text, found) = baseline[url], sluice[url]
        if base_text != text:
            result.text_differs.append(url)
        elif base_entities != found:
            result.entities_differ.append(url)
        else:
            result.same += 1
    return result
