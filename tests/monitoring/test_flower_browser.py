"""Flower's dashboard in headless Chromium: every stage's workers, what they processed, and the
items that failed, counted as failed tasks where they failed."""

from __future__ import annotations

import json
import os
import time
import uuid
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import lxml.html
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sluice.workers.pipeline import STAGES
from tests.monitoring.browser import chromium, dump_dom, screenshot
from tests.monitoring.processes import get, running_flower
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
USER, PASSWORD = "operator", "dashboard-pw"

# Two pages of one story on two layouts: the second is stored as a duplicate of the first
# and skips tagging.
SAMPLES = ("belgorod-euro-canals.html", "belgorod-lowland-ledger.html")
# Two known failures besides: a page that answers 404 (fails at fetch) and one too short to
# be an article (extract_empty, at extract). Neither is retried.
SHORT_PAGE = b"<html><head><title>stub</title></head><body><p>Nothing here.</p></body></html>"
LEAST_PROCESSED = {"fetch": 4, "extract": 3, "dedup": 2, "tag": 1, "store": 2}
FAILED = {"fetch": 1, "extract": 1, "dedup": 0, "tag": 0, "store": 0}
REASONS = {"fetch": "http_404", "extract": "extract_empty"}


def _stage_of(worker: str) -> str:
    """The stage of a one-stage worker's node name, ``[prefix-]stage@host``."""
    return worker.split("@", 1)[0].rsplit("-", 1)[-1]


def _processed(flower_url: str) -> dict[str, tuple[int, int]]:
    """Tasks each stage's worker received and failed, per Flower's own JSON."""
    status, body = get(f"{flower_url}/workers?json=1", auth=(USER, PASSWORD))
    assert status == 200, body
    return {
        _stage_of(worker["hostname"]): (
            int(worker.get("task-received", 0)),
            int(worker.get("task-failed", 0)),
        )
        for worker in json.loads(body)["data"]
    }


def _failed_tasks(flower_url: str) -> dict[str, dict]:
    """Flower's failed tasks by id, from its API."""
    status, body = get(f"{flower_url}/api/tasks?state=FAILURE", auth=(USER, PASSWORD))
    assert status == 200, body
    return json.loads(body)


def _failed_events(flower_url: str) -> dict[str, float]:
    """``flower_events_total{type="task-failed"}`` per task name, from Flower's /metrics."""
    status, text = get(f"{flower_url}/metrics")
    assert status == 200
    return {
        sample.labels["task"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "flower_events_total" and sample.labels.get("type") == "task-failed"
    }


def _dashboard_rows(dom: str) -> dict[str, list[str]]:
    """The workers table as the browser rendered it: worker name -> its cells' text."""
    page = lxml.html.fromstring(dom)
    header = [
        th.text_content().strip() for th in page.xpath('//table[@id="workers-table"]//thead//th')
    ]
    rows = {}
    for tr in page.xpath('//table[@id="workers-table"]/tbody/tr'):
        cells = [td.text_content().strip() for td in tr.xpath("./td")]
        if cells and cells[0]:
            rows[cells[0]] = dict(zip(header, cells, strict=False))
    return rows


def test_dashboard_shows_every_stage_and_its_processed_tasks(
    workers: Cluster, web: WebServer, tmp_path: Path
) -> None:
    if chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing although .ci/run installs it")
        pytest.skip("chromium is not installed here (.ci/run installs Debian's chromium)")
    prefix = f"/{uuid.uuid4().hex[:8]}"
    urls = [
        web.route(
            f"{prefix}/{name}",
            Response(body=resources.files("sluice.shared").joinpath("samples", name).read_bytes()),
        )
        for name in SAMPLES
    ]
    urls += [
        web.url(f"{prefix}/gone.html"),
        web.route(f"{prefix}/stub.html", Response(body=SHORT_PAGE)),
    ]
    env = workers.env | {"SLUICE_FLOWER_USER": USER, "SLUICE_FLOWER_PASSWORD": PASSWORD}

    with running_flower(env, tmp_path / "flower.log") as url:
        result = workers.sluice("submit", *urls, "--wait", "--timeout", "120")
        assert result.returncode == 1, result.stdout + result.stderr + workers.logs()  # 2 failed
        job_id = result.stdout.split()[0]
        # Wait until Flower has seen the job's events and no more are coming.
        deadline = time.monotonic() + 30
        earlier, processed = None, _processed(url)
        while time.monotonic() < deadline and (
            processed != earlier
            or any(processed.get(s, (0, 0))[0] < least for s, least in LEAST_PROCESSED.items())
            or any(processed.get(s, (0, 0))[1] < least for s, least in FAILED.items())
        ):
            time.sleep(1.0)
            earlier, processed = processed, _processed(url)
        failed_tasks = _failed_tasks(url)
        failed_events = _failed_events(url)

        signed_in = url.replace("http://", f"http://{quote(USER)}:{quote(PASSWORD)}@")
        dom = dump_dom(f"{signed_in}/workers")
        shot = screenshot(f"{signed_in}/workers", ARTIFACTS / "flower-workers.png")
        task_doms = {
            task["name"]: dump_dom(f"{signed_in}/task/{task_id}")
            for task_id, task in failed_tasks.items()
        }
        status = json.loads(workers.sluice("status", job_id, "--json").stdout)

    rows = _dashboard_rows(dom)
    by_stage = {_stage_of(name): cells for name, cells in rows.items()}
    assert len(rows) == len(STAGES) and set(by_stage) == set(STAGES), rows
    for stage, cells in by_stage.items():
        # "Online" is drawn by Flower's scripts (the server writes "True"): they ran.
        assert cells["Status"] == "Online", cells
        assert int(cells["Processed"]) == processed[stage][0], (stage, cells, processed)
        assert int(cells["Processed"]) >= LEAST_PROCESSED[stage], (stage, cells)
        # Each dead-lettered item is one failed task of the stage it failed at.
        assert int(cells["Failed"]) == FAILED[stage], (stage, cells)
    page = lxml.html.fromstring(dom)
    assert page.get_element_by_id("workers-online").text_content().strip() == str(len(STAGES))
    succeeded = sum(int(cells["Succeeded"]) for cells in rows.values())
    assert page.get_element_by_id("workers-succeeded").text_content().strip() == str(succeeded)
    assert page.get_element_by_id("workers-failed").text_content().strip() == "2"
    assert shot.stat().st_size > 10_000

    # The store agrees: two items failed, each recorded once, and nothing was retried.
    assert status["states"].get("failed") == 2 and status["reasons"] == {
        "http_404": 1,
        "extract_empty": 1,
    }, status
    assert failed_events == {"workers.fetch": 1.0, "workers.extract": 1.0}, failed_events
    # Flower's task page shows the reason code in the exception, and no URL.
    assert {task["name"] for task in failed_tasks.values()} == {"workers.fetch", "workers.extract"}
    for name, task_dom in task_doms.items():
        reason = REASONS[name.removeprefix("workers.")]
        task_page = lxml.html.fromstring(task_dom)
        assert "FAILURE" in task_page.text_content()
        assert f"ItemFailed('{reason}'" in task_page.text_content(), task_dom[-3000:]
        assert prefix not in task_dom
