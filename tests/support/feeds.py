"""Small feeds and sitemaps for tests that serve them: RSS with dated entries, a urlset."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["rss", "urlset"]


def rss(entries: Sequence[tuple[str, str]]) -> bytes:
    """An RSS 2.0 feed of ``(link, RFC 822 date)`` entries, in that order."""
    items = "".join(
        f"<item><title>t</title><link>{link}</link><pubDate>{date}</pubDate></item>"
        for link, date in entries
    )
    channel = f"<channel><title>f</title>{items}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def urlset(links: Sequence[str]) -> bytes:
    """A sitemap listing ``links``."""
    locs = "".join(f"<url><loc>{link}</loc></url>" for link in links)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()
