"""Flower's dashboard in headless Chromium: every stage's workers and what they processed."""

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

from tests.monitoring.browser import chromium, dump_dom, screenshot
from tests.monitoring.processes import get, running_flower
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer
from workers.pipeline import STAGES

pytestmark = pytest.mark.integration

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
USER, PASSWORD = "operator", "dashboard-pw"

# Two pages of one story on two layouts: the second is stored as a duplicate of the first
# and skips tagging.
SAMPLES = ("belgorod-euro-canals.html", "belgorod-lowland-ledger.html")
LEAST_PROCESSED = {"fetch": 2, "extract": 2, "dedup": 2, "tag": 1, "store": 2}


def _stage_of(worker: str) -> str:
    return worker.split("-", 1)[0]


def _processed(flower_url: str) -> dict[str, int]:
    """Tasks each stage's worker received, per Flower's own JSON."""
    status, body = get(f"{flower_url}/workers?json=1", auth=(USER, PASSWORD))
    assert status == 200, body
    return {
        _stage_of(worker["hostname"]): int(worker.get("task-received", 0))
        for worker in json.loads(body)["data"]
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
            Response(body=resources.files("shared").joinpath("samples", name).read_bytes()),
        )
        for name in SAMPLES
    ]
    env = workers.env | {"SLUICE_FLOWER_USER": USER, "SLUICE_FLOWER_PASSWORD": PASSWORD}

    with running_flower(env, tmp_path / "flower.log") as url:
        result = workers.sluice("submit", *urls, "--wait", "--timeout", "120")
        assert result.returncode == 0, result.stdout + result.stderr + workers.logs()
        # Wait until Flower has seen the job's events and no more are coming.
        deadline = time.monotonic() + 30
        earlier, processed = None, _processed(url)
        while time.monotonic() < deadline and (
            processed != earlier
            or any(processed.get(stage, 0) < least for stage, least in LEAST_PROCESSED.items())
        ):
            time.sleep(1.0)
            earlier, processed = processed, _processed(url)

        signed_in = url.replace("http://", f"http://{quote(USER)}:{quote(PASSWORD)}@")
        dom = dump_dom(f"{signed_in}/workers")
        shot = screenshot(f"{signed_in}/workers", ARTIFACTS / "flower-workers.png")

    rows = _dashboard_rows(dom)
    by_stage = {_stage_of(name): cells for name, cells in rows.items()}
    assert len(rows) == len(STAGES) and set(by_stage) == set(STAGES), rows
    for stage, cells in by_stage.items():
        # "Online" is drawn by Flower's scripts (the server writes "True"): they ran.
        assert cells["Status"] == "Online", cells
        assert int(cells["Processed"]) == processed[stage], (stage, cells, processed)
        assert int(cells["Processed"]) >= LEAST_PROCESSED[stage], (stage, cells)
    page = lxml.html.fromstring(dom)
    assert page.get_element_by_id("workers-online").text_content().strip() == str(len(STAGES))
    succeeded = sum(int(cells["Succeeded"]) for cells in rows.values())
    assert page.get_element_by_id("workers-succeeded").text_content().strip() == str(succeeded)
    assert shot.stat().st_size > 10_000
