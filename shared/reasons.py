"""Every reason an item can end with, in one enum: stored, counted, and listed by
``sluice failures list --reasons``.

A reason is a short code (``http_404``, ``extract_empty`` …) kept with the item and its
failure. Code branches on members, never on string literals. HTTP statuses are reasons of
their own (``http_<status>``): :meth:`Reason.http` makes them, and ``Reason("http_418")``
accepts any three-digit status, so one member per status need not be spelled out.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["HTTP_REASON_DESCRIPTION", "Reason"]

_HTTP_STATUS = re.compile(r"http_[1-5]\d\d")

HTTP_REASON_DESCRIPTION = (
    "the server answered with that HTTP status (4xx: final at once; 429 and 5xx: retried, "
    "then final)"
)


class Reason(StrEnum):
    """Why an item ended as it did (or why a stage gave up on it)."""

    description: str

    def __new__(cls, value: str, description: str = "") -> Reason:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    # --- input ------------------------------------------------------------------------------
    NO_URL = "no_url", "the item has neither a URL nor a text"
    URL_TOO_LONG = "url_too_long", "the URL is longer than 2048 characters"
    INVALID_URL = "invalid_url", "the URL cannot be parsed"
    UNSUPPORTED_SCHEME = "unsupported_scheme", "only http and https are fetched"
    BAD_FEED = "bad_feed", "a feed document (--feed or a registered feed) could not be parsed"
    BAD_SITEMAP = "bad_sitemap", "a sitemap document (--sitemap or registered) could not be parsed"
    NOT_A_FEED = (
        "not_a_feed",
        "a feed's URL answered with a document that is not RSS, Atom, RDF or JSON Feed",
    )
    NOT_A_SITEMAP = (
        "not_a_sitemap",
        "a sitemap's URL answered with a document that is neither a sitemap nor a feed",
    )
    PARTIAL_DOCUMENT = (
        "partial_document",
        "a feed or sitemap was truncated or malformed: the entries before the damage were read",
    )
    BAD_FEED_LIST = "bad_feed_list", "a feed list (OPML) could not be parsed"
    SUBMISSION_RUNNING = "submission_running", "another producer is submitting this job"
    NOT_ENQUEUED = (
        "not_enqueued",
        "submit --resume could not send a recorded item again: its text or page was not kept",
    )
    LOST_IN_TRANSIT = (
        "lost_in_transit",
        "a worker died receiving the item's message, and its text was not kept to send again",
    )
    EXPAND_LIMIT = (
        "expand_limit",
        "a feed or sitemap expansion reached SLUICE_EXPAND_MAX_DEPTH, _REQUESTS or _URLS",
    )
    UNREADABLE_FILE = "unreadable_file", "an input file cannot be read (not stored)"
    NOT_WARC = "not_warc", "a --warc source holds no WARC or ARC record (a tarball, say)"
    FILTERED_DOMAIN = "filtered_domain", "skipped: the URL is on none of the --domain hosts"
    FILTERED_URL = "filtered_url", "skipped: the URL does not match --url-pattern"
    FILTERED_DATE = (
        "filtered_date",
        "skipped: the record's or entry's date is outside --since/--until",
    )
    FILTERED_LANGUAGE = (
        "filtered_language",
        "skipped: the article's language (declared, or else detected) is not one of --language",
    )

    # --- registered feeds (sluice feeds): poll outcomes and why a feed is disabled ----------
    FEED_IS_HTML = "feed_is_html", "a feed's URL answered with an HTML page, not a feed"
    NOT_A_SECTION_PAGE = (
        "not_a_section_page",
        "a watched section page's URL (feeds add --html) answered with a document that is not "
        "an HTML page",
    )
    FEED_MOVED_TO_KNOWN = (
        "feed_moved_to_known",
        "a feed redirects permanently to another feed already registered",
    )
    FEED_PAUSED = (
        "feed_paused",
        "skipped: a feed entry still waiting for room in the frontier when its feed was paused",
    )
    FEED_NEW_ENTRIES = "feed_new_entries", "a feed poll found new entries (an outcome)"
    FEED_NO_NEW_ENTRIES = (
        "feed_no_new_entries",
        "a feed poll read the feed, and every entry was seen before (an outcome)",
    )
    FEED_UNCHANGED = (
        "feed_unchanged",
        "a feed poll answered 304, or a body with the same hash as the last (an outcome)",
    )

    # --- fetch ------------------------------------------------------------------------------
    DNS_ERROR = "dns_error", "the host name has no address"
    BLOCKED_ADDRESS = "blocked_address", "the host resolves to a private or forbidden address"
    CONNECTION_ERROR = "connection_error", "the connection failed (retried)"
    TIMEOUT = "timeout", "the server was too slow (retried)"
    TOO_MANY_REDIRECTS = "too_many_redirects", "more redirects than SLUICE_FETCH_MAX_REDIRECTS"
    NOT_HTML = "not_html", "the answer is not an HTML page"
    TOO_LARGE = "too_large", "the body is larger than SLUICE_FETCH_MAX_BYTES"
    BAD_ENCODING = "bad_encoding", "the body or its content-encoding cannot be decoded"
    ROBOTS_DISALLOWED = "robots_disallowed", "robots.txt does not allow the URL"
    ROBOTS_REDIRECT_BLOCKED = (
        "robots_redirect_blocked",
        "robots.txt redirects somewhere it cannot be fetched from (cached as unavailable)",
    )
    BAD_REDIRECT = "bad_redirect", "a redirect's Location cannot be fetched"
    NOT_MODIFIED = "not_modified", "a re-fetch answered 304: the stored article is current"
    FETCHED = "fetched", "the page was downloaded (a fetch outcome, not an ending)"

    # --- extract, dedup, tag, store ---------------------------------------------------------
    NO_PAGE = "no_page", "an extract task came without a page"
    PAGE_MISSING = "page_missing", "the fetched page is no longer in the store"
    EXTRACT_EMPTY = "extract_empty", "the page holds no article text long enough"
    TOO_LARGE_TO_EXTRACT = (
        "too_large_to_extract",
        "the page is longer than SLUICE_EXTRACT_MAX_HTML_CHARS",
    )
    EMPTY_TEXT = "empty_text", "the article has no text to deduplicate or tag"
    ALREADY_SUBMITTED = "already_submitted", "the same page was submitted before"
    DEDUP_LAYOUT = "dedup_layout", "the dedup index was built with other settings"
    NO_MODEL_FOR_LANGUAGE = (
        "no_model_for_language",
        "stored without entities: SLUICE_SPACY_MODELS has no pipeline for its language",
    )

    # --- site crawls -----------------------------------------------------------------------
    CRAWL_HUB = (
        "crawl_hub",
        "followed: a site crawl's hub page (front, section, tag, pagination); its links were "
        "followed and it is not stored as an article",
    )

    REDIRECT_OUT_OF_SCOPE = (
        "redirect_out_of_scope",
        "skipped: a site crawl's page redirects out of the crawl's scope (not followed)",
    )

    # --- the task itself --------------------------------------------------------------------
    TIME_LIMIT = "time_limit", "the stage ran past its time limit"
    TOO_MANY_ATTEMPTS = (
        "too_many_attempts",
        "deliveries kept ending abnormally (worker killed) past SLUICE_MAX_ATTEMPTS",
    )
    INTERNAL_ERROR = "internal_error", "a bug in sluice: the worker log has the traceback"

    @classmethod
    def http(cls, status: int) -> Reason:
        """The reason for an HTTP answer with ``status``."""
        return cls(f"http_{status}")

    @property
    def is_http(self) -> bool:
        return _HTTP_STATUS.fullmatch(self.value) is not None

    @property
    def is_client_error(self) -> bool:
        """An HTTP 4xx answer."""
        return self.is_http and self.value[5] == "4"

    @classmethod
    def _missing_(cls, value: object) -> Reason | None:
        if not (isinstance(value, str) and _HTTP_STATUS.fullmatch(value)):
            return None
        member = cls._value2member_map_.get(value)
        if member is None:
            member = str.__new__(cls, value)
            member._name_ = value.upper()
            member._value_ = value
            member.description = HTTP_REASON_DESCRIPTION
            cls._value2member_map_[value] = member
        return member  # type: ignore[return-value]
