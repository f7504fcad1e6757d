"""The one record that travels the pipeline: :class:`Article`, with its :class:`Entity` spans.

It is plain data, JSON-serializable through :meth:`Article.to_dict` / :meth:`Article.from_dict`,
so queue messages stay small and never carry trafilatura or spaCy objects.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DESCRIPTION_FIELDS",
    "MESSAGE_ONLY_FIELDS",
    "PROVENANCE_FIELDS",
    "STORED_FIELDS",
    "UPDATABLE_FIELDS",
    "Article",
    "Entity",
    "label_of",
]


def label_of(job_id: object, item_id: object, article_id: object = None) -> str:
    """How an item appears in logs and Flower: ids only, never its URL or text."""
    return f"job={job_id} item={item_id} id={article_id or '-'}"


@dataclass(frozen=True, slots=True)
class Entity:
    """A named-entity span: ``text == article.text[start:end]``."""

    text: str
    label: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "label": self.label, "start": self.start, "end": self.end}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entity:
        return cls(data["text"], data["label"], int(data["start"]), int(data["end"]))


@dataclass(slots=True)
class Article:
    """One article on its way through fetch → extract → dedup → tag → store.

    ``job_id``/``item_id`` name the submission it came from; ``id`` is stable for the article
    itself (from its canonical URL, or from its text when it has no URL).
    """

    job_id: str
    item_id: int
    id: str = ""
    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    author: str | None = None
    date: str | None = None
    sitename: str | None = None
    language: str | None = None
    # Where ``language`` came from: "declared" or "detected" (shared.language).
    language_source: str | None = None
    description: str | None = None
    text: str = ""
    entities: list[Entity] = field(default_factory=list)
    duplicate_of: str | None = None
    similarity: float | None = None
    page_id: str | None = None
    refetch: bool = False
    entities_truncated: bool = False
    # Why the article has no entities when it was not tagged, e.g. "no_model_for_language".
    entities_skipped: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    # ``--language``: keep the article only if its detected language is one of these.
    languages: list[str] = field(default_factory=list)
    # From a registered feed (shared.feeds): the feed, and what its entry said.
    feed_id: int | None = None
    entry_guid: str | None = None
    entry_title: str | None = None
    entry_published: str | None = None
    # Why the page was not read in its declared charset (extract), kept as the item's detail.
    decoding_note: str | None = None
    # Work a stage created (shared.outcomes.NewUrl): the item of this job that found this
    # URL, and how many such steps away from a submitted item it is (0: submitted).
    found_by: int | None = None
    depth: int = 0

    @property
    def label(self) -> str:
        return label_of(self.job_id, self.item_id, self.id)

    @property
    def item_key(self) -> str:
        """The submitted item this article is: ``<job>:<item>``."""
        return f"{self.job_id}:{self.item_id}"

    @property
    def is_duplicate(self) -> bool:
        return self.duplicate_of is not None

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["entities"] = [e.to_dict() for e in self.entities]
        data["timings"] = dict(self.timings)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["entities"] = [Entity.from_dict(e) for e in data.get("entities") or []]
        values["timings"] = dict(data.get("timings") or {})
        return cls(**values)


# The field lists of an article, declared here only; the store, the export and the CLI read
# them. What an article says about itself, in the order sluice shows and exports it:
DESCRIPTION_FIELDS = (
    "url",
    "canonical_url",
    "title",
    "author",
    "date",
    "sitename",
    "language",
    "description",
)
# Where it was first found: a later job storing the same article does not change these.
PROVENANCE_FIELDS = ("job_id", "feed_id", "entry_guid", "entry_title", "entry_published")
# Carried by the item's messages, never columns of the store's ``articles`` table: entities
# have a table of their own and ``decoding_note`` becomes the item's detail.
MESSAGE_ONLY_FIELDS = (
    "item_id",
    "entities",
    "refetch",
    "languages",
    "decoding_note",
    "found_by",
    "depth",
)
# The columns of ``articles`` an article fills, under its own field names.
STORED_FIELDS = tuple(
    f.name for f in dataclasses.fields(Article) if f.name not in MESSAGE_ONLY_FIELDS
)
# What storing an article again replaces: all it stores but its id and its provenance.
UPDATABLE_FIELDS = tuple(
    name for name in STORED_FIELDS if name != "id" and name not in PROVENANCE_FIELDS
)
