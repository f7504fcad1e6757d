"""A live scrape of ``sluice metrics`` passes ``promtool check metrics``, and the Grafana
dashboard and the KEDA example ask only for series that scrape (or Flower) really carries."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from sluice.shared.jobs import ItemSpec, create_job, finish_item
from sluice.shared.metrics.host_outcomes import FETCHED
from sluice.shared.states import State
from tests.monitoring.processes import get, running_metrics
from tests.monitoring.test_dashboard import DASHBOARDS, queried_series
from tests.monitoring.test_metrics import _fetched, metrics_redis, own_services  # noqa: F401
from tests.support.cluster import Cluster

ROOT = Path(__file__).resolve().parents[2]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing although .ci/run installs it")
        pytest.skip("promtool is not installed here (.ci/run installs Debian's prometheus)")
    return found


def test_live_scrape_passes_promtool_and_feeds_the_dashboard(
    own_services: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    promtool = _promtool()
    create_job("job1", [ItemSpec("url", f"https://a.example/{n}") for n in range(3)])
    finish_item("job1", 0, State.STORED)
    finish_item("job1", 1, State.FAILED, reason="http_404")
    _fetched("a.example", FETCHED, 2)
    _fetched("b.example", "http_404")

    env = {**Cluster("", "", tmp_path).env, **own_services}
    with running_metrics(env, tmp_path / "metrics.log") as url:
        status, text = get(f"{url}/metrics")
    assert status == 200

    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr

    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    # Cumulative values are counters, levels are gauges, and only counters end in _total.
    assert families["sluice_fetch_outcomes"] == "counter"
    assert families["sluice_fetch_outcomes_by_host"] == "counter"
    assert families["sluice_articles_stored"] == "gauge"
    scraped = {
        sample.name for family in text_string_to_metric_families(text) for sample in family.samples
    }
    assert not any(n.endswith("_total") for n, k in families.items() if k != "counter")
    dashboard = json.loads((DASHBOARDS / "sluice.json").read_text())
    wanted = {n for n in queried_series(dashboard) if n.startswith("sluice_")}
    # Histogram buckets are in the scrape as well; the listener is not running here.
    assert wanted - scraped == set(), wanted - scraped

    # The KEDA example scales fetch on a query of this scrape: its series exist, and it parses.
    query = keda_fetch_query()
    assert set(re.findall(r"sluice_[a-z_]+", query)) <= scraped, query
    rules = tmp_path / "keda-query.rules.yml"
    rule = {"record": "sluice:fetch_due_work", "expr": query}
    rules.write_text(yaml.safe_dump({"groups": [{"name": "keda", "rules": [rule]}]}))
    checked = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def keda_fetch_query() -> str:
    """The PromQL query of the fetch stage's trigger in the KEDA example."""
    documents = yaml.safe_load_all((ROOT / "deploy/kubernetes/keda-scaledobjects.yaml").read_text())
    (fetch,) = [d for d in documents if d["metadata"]["name"] == "sluice-fetch"]
    return str(fetch["spec"]["triggers"][0]["metadata"]["query"])
