"""Producers: submit URLs, feeds, sitemaps, raw texts and raw HTML to the pipeline."""

from sluice.producers.enqueue import EnqueueProgress
from sluice.producers.expansion import Expansion, expand_sources
from sluice.producers.feeds import expand_feed
from sluice.producers.resume import Resumed, resume_job
from sluice.producers.submit import submit_html, submit_pages, submit_text, submit_urls

__all__ = [
    "EnqueueProgress",
    "Expansion",
    "Resumed",
    "expand_feed",
    "expand_sources",
    "resume_job",
    "submit_html",
    "submit_pages",
    "submit_text",
    "submit_urls",
]
