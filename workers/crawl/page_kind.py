"""Placeholder: is a crawled page an article (stored) or a hub (followed only)?

The branch ``page-kind`` replaces this module with the measured classifier; callers use only
:func:`page_kind` and :class:`PageKind`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PageKind", "page_kind"]

_OG_ARTICLE = re.compile(r"""property=["']og:type["']\s+content=["']article""", re.I)


@dataclass(frozen=True)
class PageKind:
    """``kind`` is ``"article"`` or ``"hub"``; ``why`` says which signal decided."""

    kind: str
    why: str


def page_kind(html: str, url: str) -> PageKind:
    """A trivial guess: an ``og:type`` of article or an ``<article>`` element make an article."""
    if _OG_ARTICLE.search(html):
        return PageKind("article", "og:type article")
    if "<article" in html.lower():
        return PageKind("article", "article element")
    return PageKind("hub", "no article signal")
