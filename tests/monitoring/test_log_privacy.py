"""Submitted URLs stay out of worker logs and task events, retries included."""

from __future__ import annotations

import json
import uuid
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import items, jobs
from tests.support.cluster import Cluster
from tests.support.events import recorded_events, settle
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration


def test_no_submitted_url_in_worker_logs_or_events(workers: Cluster, web: WebServer) -> None:
    secret = f"private-{uuid.uuid4().hex}"
    page = resources.files("sluice.shared").joinpath("samples", "belgorod-euro-canals.html")
    urls = [
        web.route(f"/{secret}/story.html", Response(body=page.read_bytes())),
        web.route(f"/{secret}/busy.html", Response(503, b"<h1>busy</h1>")),  # retried, fails
        web.url(f"/{secret}/gone.html"),  # 404: fails at once
    ]

    with recorded_events(workers.redis_url) as events:
        result = workers.sluice("submit", *urls, "--wait", "--timeout", "120")
        settle(events)
    assert result.returncode == 1, result.stdout + result.stderr  # two items failed

    job_id = result.stdout.split()[0]
    status = json.loads(workers.sluice("status", job_id, "--json").stdout)
    assert status["states"] == {"stored": 1, "failed": 2}
    assert status["reasons"] == {"http_503": 1, "http_404": 1}
    retried = [e for e in events if e["type"] == "task-retried"]
    # Events travel over Redis pub/sub, at most once: some retries may go unseen.
    # Retries show their reason code (a busy SQLite may add retries of its own).
    assert any("http_503" in e["exception"] for e in retried), [e["exception"] for e in retried]
    # SLUICE_FETCH_MAX_RETRIES (4) retries, beyond Celery's own default limit of 3.
    with get_engine(workers.database_url).connect() as conn:
        detail = conn.execute(
            select(items.c.detail).where(items.c.job_id == job_id, items.c.reason == "http_503")
        ).scalar_one()
    assert detail.startswith("fetch: gave up after 5 tries"), detail
    kinds = {event["type"] for event in events}
    # Every path a label could be lost on was taken: sent, received, retried, succeeded,
    # failed (each dead-lettered item fails its task, with its reason code).
    assert {"task-sent", "task-received", "task-retried", "task-succeeded", "task-failed"} <= kinds
    failed = [e["exception"] for e in events if e["type"] == "task-failed"]
    assert len(failed) == 2, failed
    assert {e.split(" id=")[0] for e in failed} == {
        f"ItemFailed('http_503', 'fetch', 'job={job_id} item=1",
        f"ItemFailed('http_404', 'fetch', 'job={job_id} item=2",
    }, failed
    shown = [event.get("args", "") for event in events if "args" in event]
    leaked = [args for args in shown if not args.startswith("(job=")]
    assert shown and not leaked, leaked
    carrying = [e for e in events if secret in json.dumps(e)]
    assert not carrying, [json.dumps(e) for e in carrying]
    logs = "".join(log.read_text() for log in workers.data_dir.glob("worker-*.log"))
    assert "Task workers.fetch[" in logs  # the log is really there, at info level
    assert secret not in logs


def test_database_errors_do_not_quote_the_values(tmp_path: Path) -> None:
    """A failing statement is logged and retried: its message must not carry the article."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade_database(url)
    secret = f"https://example.com/private-{uuid.uuid4().hex}"
    with get_engine(url).begin() as conn:
        conn.execute(insert(jobs).values(id="job1", total=1, description="first"))
    with pytest.raises(IntegrityError) as caught, get_engine(url).begin() as conn:
        conn.execute(insert(jobs).values(id="job1", total=1, description=secret))
    assert "INSERT INTO jobs" in str(caught.value)
    assert secret not in str(caught.value)
