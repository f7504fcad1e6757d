"""Producers: submit URLs, feeds, sitemaps, raw texts and raw HTML to the pipeline.

:func:`submit_sources` is the door every submission goes through (:mod:`producers.intake`).

The names below are loaded on first use, so that importing one producer module (``sluice
status`` reads :mod:`producers.lease`) does not load every producer's libraries (httpx,
feedparser, warcio …).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sluice.producers.crawl import submit_crawl
    from sluice.producers.enqueue import EnqueueProgress
    from sluice.producers.expansion import Expansion, expand_sources
    from sluice.producers.intake import Door, Submission, expand_feed, submit_sources
    from sluice.producers.resume import Resumed, resume_job
    from sluice.producers.submit import submit_html, submit_pages, submit_text, submit_urls

__all__ = [
    "Door",
    "EnqueueProgress",
    "Expansion",
    "Resumed",
    "Submission",
    "expand_feed",
    "expand_sources",
    "resume_job",
    "submit_crawl",
    "submit_html",
    "submit_pages",
    "submit_sources",
    "submit_text",
    "submit_urls",
]

_MODULES = {
    "submit_crawl": "crawl",
    "EnqueueProgress": "enqueue",
    "Expansion": "expansion",
    "expand_sources": "expansion",
    "Door": "intake",
    "Submission": "intake",
    "expand_feed": "intake",
    "submit_sources": "intake",
    "Resumed": "resume",
    "resume_job": "resume",
    "submit_html": "submit",
    "submit_pages": "submit",
    "submit_text": "submit",
    "submit_urls": "submit",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULES[name]}"), name)
