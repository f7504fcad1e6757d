"""Extract stage: the main text and metadata of a page, with trafilatura.

A page with no usable text is a normal outcome, not a crash: it ends as
``PermanentError(Reason.EXTRACT_EMPTY)``.

A page of a site crawl comes here only when the fetch stage took it for an article: its
links were followed there (:mod:`workers.crawl.crawled_page`).
"""

from __future__ import annotations

import contextlib
import logging

import trafilatura
from trafilatura.settings import Document

from sluice.shared.article import Article
from sluice.shared.errors import PermanentError
from sluice.shared.identity import article_id, canonicalize_url
from sluice.shared.language import page_language, settle_language
from sluice.shared.outcomes import Final, Forward, Outcome, failed
from sluice.shared.pages import load_page
from sluice.shared.reasons import Reason
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from sluice.workers.extraction.page_text import decode_page
from sluice.workers.metadata import page_metadata

__all__ = ["decode_html", "extract", "extract_html", "run"]

logger = logging.getLogger(__name__)


def decode_html(body: bytes, declared: str | None = None) -> str:
    """Bytes to text (:func:`workers.extraction.page_text.decode_page`): never fails."""
    return decode_page(body, declared).text


def extract_html(
    html: str, url: str | None = None, favor_recall: bool = False
) -> dict[str, str | None] | None:
    """Main text and metadata of ``html``, or ``None`` when there is no article in it;
    ``favor_recall`` keeps more of what may be the article (trafilatura's option)."""
    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
        favor_recall=favor_recall,
    )
    if not isinstance(document, Document):  # None: no article found
        return None
    return {
        "text": document.text,
        "title": document.title,
        "author": document.author,
        "date": document.date,
        "sitename": document.sitename,
        "language": document.language,
        "description": document.description,
        "url": document.url,
    }


def _without_title(text: str, title: str | None) -> str:
    """Drop the headline when trafilatura repeated it as the text's first line."""
    if title:
        first, _, rest = text.partition("\n")
        if first.strip() == title.strip() and rest.strip():
            return rest.strip()
    return text


def extract(
    article: Article, html: str, min_chars: int = 1, max_html_chars: int | None = None
) -> Article:
    """Fill ``article`` with the text and metadata extracted from ``html``.

    Pages longer than ``max_html_chars`` are refused (``too_large_to_extract``): extraction
    time grows with page size, and such pages are not articles.
    """
    if max_html_chars is not None and len(html) > max_html_chars:
        raise PermanentError(Reason.TOO_LARGE_TO_EXTRACT, f"{len(html)} characters of HTML")
    url = article.canonical_url or article.url
    fields = extract_html(html, url) or {}
    # Measured without the headline, so a long title cannot carry a page over min_chars.
    text = _without_title((fields.get("text") or "").strip(), fields.get("title"))
    if len(text) < min_chars:
        # Trafilatura's precise pass finds nothing in some articles (their text in a block
        # it reads as boilerplate); a second pass that favours recall finds it there.
        fields = extract_html(html, url, favor_recall=True) or fields
        text = _without_title((fields.get("text") or "").strip(), fields.get("title"))
    if len(text) < min_chars:
        raise PermanentError(Reason.EXTRACT_EMPTY, f"{len(text)} characters of main text")
    article.text = text
    fields.update(page_metadata(html, url, fields).as_fields())
    for name in ("title", "author", "date", "sitename", "language", "description"):
        value = fields.get(name)
        if value and not getattr(article, name):
            setattr(article, name, value)
    article.language = article.language or page_language(html)
    if not article.canonical_url and fields.get("url"):
        with contextlib.suppress(ValueError):
            article.canonical_url = canonicalize_url(fields["url"])  # type: ignore[arg-type]
    if not article.id:
        article.id = article_id(article.canonical_url, article.text)
    return article


def run(article: Article) -> Outcome:
    """The extract stage: the fetched (or ingested) page's text and metadata."""
    if article.page_id is None:
        return failed(Reason.NO_PAGE, "nothing to extract from")
    page = load_page(article.page_id)
    if page is None:
        return failed(Reason.PAGE_MISSING, f"page {article.page_id} is not in the store")
    decoded = decode_page(page.body, page.encoding)
    if decoded.overridden:  # kept with the item when it is stored
        article.decoding_note = decoded.overridden
        logger.info("%s %s", article.label, decoded.overridden)
    return _extracted(article, decoded.text)


def _extracted(article: Article, html: str) -> Final | Forward:
    settings = get_settings()
    extract(article, html, settings.extract_min_chars, settings.extract_max_html_chars)
    settle_language(article)
    if article.languages and article.language not in article.languages:
        detail = f"{article.language_source} {article.language}"
        return Final(State.SKIPPED, Reason.FILTERED_LANGUAGE, detail)
    return Forward()
