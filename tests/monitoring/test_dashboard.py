"""The provisioned Grafana dashboard asks only for series the exporter and Flower export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import redis
from celery import Celery
from flower.events import get_prometheus_metrics
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from sluice.shared.metrics.exporter import build_registry
from sluice.shared.metrics.latency import StageLatency
from sluice.shared.metrics.store_figures import CachedStoreFigures
from sluice.workers.pipeline import STAGES

DASHBOARDS = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"
_METRIC = re.compile(r"\b(?:sluice|flower)_[A-Za-z0-9_]+")
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


def _series(families: list[Metric]) -> set[str]:
    """Every series name Prometheus stores for these metric families."""
    names = set()
    for family in families:
        suffixes = _SUFFIXES.get(family.type, ("",))
        names |= {family.name + suffix for suffix in suffixes}
    return names


def exported_series(redis_url: str) -> set[str]:
    """What ``sluice metrics`` and Flower export, read from their real registries."""
    client = redis.Redis.from_url(redis_url)
    registry: CollectorRegistry = build_registry(client, STAGES, CachedStoreFigures(0), 5, 0)
    StageLatency(Celery(broker=redis_url), STAGES, registry)  # registers; not started
    ours = _series(list(registry.collect()))
    client.close()
    flower = _series(
        [
            family
            for metric in vars(get_prometheus_metrics()).values()
            for family in metric.describe()
        ]
    )
    return ours | flower


def queried_series(dashboard: dict) -> set[str]:
    return {
        name
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        for name in _METRIC.findall(target["expr"])
    }


def test_every_queried_series_is_exported(redis_url: str) -> None:
    exported = exported_series(redis_url)
    assert {"sluice_queue_messages", "flower_events_total"} <= exported  # the reading works
    paths = sorted(DASHBOARDS.glob("*.json"))
    assert paths
    for path in paths:
        dashboard = json.loads(path.read_text())
        queried = queried_series(dashboard)
        assert queried - exported == set(), f"{path.name} asks for series nobody exports"
        # Both sources side by side, as the dashboard promises.
        assert any(n.startswith("sluice_") for n in queried)
        assert any(n.startswith("flower_") for n in queried)
        ids = [panel["id"] for panel in dashboard["panels"]]
        assert len(ids) == len(set(ids)), "panel ids must be unique"


def test_dashboard_shows_every_pipeline_metric() -> None:
    """Each figure the exporter exists for has a panel."""
    (dashboard,) = [json.loads(p.read_text()) for p in DASHBOARDS.glob("sluice.json")]
    queried = queried_series(dashboard)
    for name in (
        "sluice_queue_messages",
        "sluice_items",
        "sluice_duplicate_ratio",
        "sluice_fetch_outcomes_total",
        "sluice_fetch_outcomes_by_host_total",
        "sluice_stage_duration_seconds_bucket",
        "sluice_articles_stored",
    ):
        assert name in queried, name
