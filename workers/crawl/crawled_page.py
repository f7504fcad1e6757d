"""What a site crawl makes of a page its fetch just downloaded: the links it follows, and
whether the page is a hub (followed, not stored) or an article (extracted as any other).

Read in the fetch stage, where the page's bytes are: discovery keeps the pace of the host's
request budget, not that of extraction, and a hub never enters the CPU stages' queues.
"""

from __future__ import annotations

from sluice.shared.article import Article
from sluice.shared.outcomes import Final, Forward
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import get_redis
from sluice.shared.states import State
from sluice.workers.crawl.follow import follow
from sluice.workers.crawl.page_kind import page_kind
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.dedup.keys import claimed_identities
from sluice.workers.extraction.page_text import decode_page
from sluice.workers.fetching.client import FetchedPage

__all__ = ["crawled_page"]


def crawled_page(article: Article, page: FetchedPage, crawl: CrawlScope) -> Final | Forward:
    """``Final(followed, crawl_hub)`` for a hub, else ``Forward``; either carries the links
    ``crawl`` follows from the page as found work."""
    text = decode_page(page.body, page.encoding).text
    found = follow(get_redis(), article, text, page.url, crawl)
    kind = page_kind(text, page.url)
    if kind.kind == "hub":
        _let_go(article)
        return Final(State.FOLLOWED, Reason.CRAWL_HUB, kind.why, found=found)
    return Forward(found=found)


def _let_go(article: Article) -> None:
    """A hub is no article: the fetch stage's claim on its URL is let go, so a later crawl
    (or a watched section) may fetch it again."""
    from sluice.workers.stages.dedup import dedup_index

    index = dedup_index()
    for identity in claimed_identities(article):
        index.release(identity, article.item_key)
