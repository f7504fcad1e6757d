"""The links of a crawled page that the crawl follows, and why the others are not.

A link is first rid of session ids (:func:`workers.crawl.traps.crawl_url`), then judged by
the crawl's scope (:meth:`workers.crawl.scope.CrawlScope.why_out`), the trap shapes
(:func:`workers.crawl.traps.trap_of`) and the crawl's depth. What is left becomes found
work (:class:`shared.outcomes.NewUrl`), which the seen set and the crawl's caps judge next
(:mod:`workers.found_work`). Every link is counted (:mod:`workers.crawl.stats`).
"""

from __future__ import annotations

from collections import Counter

import redis

from sluice.shared.article import Article
from sluice.shared.outcomes import NewUrl
from sluice.workers.crawl import stats
from sluice.workers.crawl.links import links_in
from sluice.workers.crawl.scope import CrawlScope
from sluice.workers.crawl.traps import crawl_url, trap_of

__all__ = ["follow"]


def follow(
    client: redis.Redis, article: Article, html: str, base_url: str, crawl: CrawlScope
) -> tuple[NewUrl, ...]:
    """The links of ``html`` (read at ``base_url``) that ``crawl`` follows from ``article``;
    counts the page, its links, and the reason each other link is left."""
    counts: Counter[str] = Counter(pages_fetched=1)
    found: list[NewUrl] = []
    for link in links_in(html, base_url):
        counts["links_discovered"] += 1
        url = crawl_url(link)
        why = crawl.why_out(url) or trap_of(url)
        if why is None and article.depth >= crawl.depth:
            why = "depth_limit"
        if why is not None:
            counts[why] += 1
        else:
            found.append(NewUrl.found_in(article, url))
    counts["links_followed"] = len(found)
    stats.add(client, article.job_id, counts)
    return tuple(found)
