"""Producers: submit URLs, feeds, sitemaps, raw texts and raw HTML to the pipeline."""

from producers.enqueue import EnqueueProgress
from producers.feeds import expand_feed, expand_sitemap
from producers.resume import Resumed, resume_job
from producers.submit import submit_html, submit_pages, submit_text, submit_urls

__all__ = [
    "EnqueueProgress",
    "Resumed",
    "expand_feed",
    "expand_sitemap",
    "resume_job",
    "submit_html",
    "submit_pages",
    "submit_text",
    "submit_urls",
]
