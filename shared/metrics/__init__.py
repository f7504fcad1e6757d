"""Pipeline metrics in Prometheus format, beyond what Flower exports.

Workers count fetch outcomes per host (:func:`count_fetch_outcome`); ``sluice metrics``
serves the rest from Redis, the store and the task events (:mod:`.exporter`).
"""

from shared.metrics.exporter import PipelineCollector, build_registry
from shared.metrics.host_outcomes import (
    FETCHED,
    NOT_MODIFIED,
    FetchOutcomes,
    count_fetch_outcome,
    read_fetch_outcomes,
)
from shared.metrics.latency import StageLatency
from shared.metrics.store_figures import CachedStoreFigures, StoreFigures, read_store_figures

__all__ = [
    "FETCHED",
    "NOT_MODIFIED",
    "CachedStoreFigures",
    "FetchOutcomes",
    "PipelineCollector",
    "StageLatency",
    "StoreFigures",
    "build_registry",
    "count_fetch_outcome",
    "read_fetch_outcomes",
    "read_store_figures",
]
