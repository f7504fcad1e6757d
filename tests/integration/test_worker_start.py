"""A worker that serves tag checks, as it starts, that its spaCy pipelines are installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cluster import Cluster
from tests.support.services import RedisProvider

pytestmark = pytest.mark.integration

MISSING_MODEL = "sluice_test_model_that_is_not_installed"


def test_a_tag_worker_without_its_model_stops_at_start_and_others_run(
    redis_provider: RedisProvider, tmp_path: Path
) -> None:
    redis_url = redis_provider.acquire()
    cluster = Cluster(
        redis_url,
        f"sqlite:///{tmp_path / 'store.db'}",
        tmp_path,
        {"SLUICE_SPACY_MODELS": f"de={MISSING_MODEL}"},
    )
    try:
        tagging = cluster.start_worker("--stages", "tag")
        extracting = cluster.start_worker("--stages", "extract")
        assert tagging.wait(timeout=120) != 0
        log = (tmp_path / "worker-0.log").read_text(errors="replace")
        assert f"the tag stage needs spaCy pipeline '{MISSING_MODEL}'" in log
        cluster.processes.remove(tagging)  # its exit was the point; the rest must stay up
        # A worker that does not tag needs no model.
        cluster.wait_ready(stages=("extract",))
        assert extracting.poll() is None
    finally:
        cluster.stop()
        redis_provider.release(redis_url)
