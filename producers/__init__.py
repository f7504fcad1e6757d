"""Producers: submit URLs, feeds, sitemaps, raw texts and raw HTML to the pipeline."""

from producers.feeds import expand_feed, expand_sitemap
from producers.submit import submit_html, submit_pages, submit_text, submit_urls

__all__ = [
    "expand_feed",
    "expand_sitemap",
    "submit_html",
    "submit_pages",
    "submit_text",
    "submit_urls",
]
