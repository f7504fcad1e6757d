"""Stored data cannot break or fool the CLI: hostile strings print as the text they are."""

from __future__ import annotations

import json

import pytest

from sluice.shared.failures import record_failure
from sluice.shared.jobs import ItemSpec, create_job
from sluice.shared.settings import get_settings
from sluice.shared.states import State
from tests.support.cluster import Cluster

pytestmark = pytest.mark.integration

TITLE = (
    "[/quote] [bold]bold[/bold] [link=http://evil.example]x[/link] \x1b[31mred\x1b[0m \u202eevil"
)
TEXT = (
    "Angela Merkel spoke in Berlin. [/quote] closes nothing. [bold]not bold[/bold].\n"
    "\x1b]0;window title\x07 \x1b[2J cleared? \x9b31m C1. Carriage\rreturn.\n" * 3
)
URL = "https://127.0.0.9/[/quote]/[bold]x[/bold]?q=\x1b[31m"
REASON = "[/quote]\x1b[31m"
ERROR = "[bold]boom[/bold] [/quote] \x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\"
RAW_CONTROLS = ("\x1b", "\x9b", "\x07", "\r", "\u202e")


def _hostile_failure(workers: Cluster, job_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A dead letter with a hostile reason and error, written to the cluster's store."""
    monkeypatch.setenv("SLUICE_DATABASE_URL", workers.database_url)
    get_settings.cache_clear()
    try:
        item = create_job(job_id, [ItemSpec("url", URL)], state=State.RECORDED)
        payload = {"url": URL, "title": TITLE}
        record_failure(job_id, item, "[/quote]stage", REASON, ERROR, payload)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()


def test_hostile_titles_texts_urls_reasons_and_errors_print_as_text(
    workers: Cluster, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_file = tmp_path / "hostile.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    submitted = workers.sluice(
        "submit",
        "--text",
        str(text_file),
        "--title",
        TITLE,
        "--url",
        URL,
        "--wait",
        "--timeout",
        "120",
        "--json",
    )
    assert submitted.returncode == 0, submitted.stderr + workers.logs()
    job_id = json.loads(submitted.stdout)["job"]
    _hostile_failure(workers, job_id, monkeypatch)
    wide = {**workers.env, "COLUMNS": "400"}
    listed = json.loads(workers.sluice("articles", "list", "--job", job_id, "--json").stdout)
    assert [row["title"] for row in listed] == [TITLE]
    article_id = listed[0]["id"]

    commands = [
        ("articles", "list", "--job", job_id),
        ("articles", "show", article_id),
        ("articles", "show", URL),
        ("failures", "list", "--job", job_id),
        ("failures", "list", "--reason", REASON),
        ("status", job_id),
    ]
    for command in commands:
        plain = workers.run_with(wide, *command)
        assert plain.returncode == 0, (command, plain.stderr)
        assert "Traceback" not in plain.stderr, command
        assert not any(c in plain.stdout for c in RAW_CONTROLS), (command, plain.stdout)
        assert "[/quote]" in plain.stdout, (command, plain.stdout[-3000:])
        as_json = workers.run_with(wide, *command, "--json")
        assert as_json.returncode == 0, (command, as_json.stderr)
        assert not any(c in as_json.stdout for c in RAW_CONTROLS), command
        json.loads(as_json.stdout)

    shown = workers.run_with(wide, "articles", "show", article_id).stdout
    assert "[bold]bold[/bold]" in shown and "\\x1b[31mred" in shown and "\\u202eevil" in shown
    assert "[bold]not bold[/bold]" in shown
    article = json.loads(workers.sluice("articles", "show", article_id, "--json").stdout)
    assert article["title"] == TITLE and article["url"] == URL
    failures = json.loads(workers.sluice("failures", "list", "--job", job_id, "--json").stdout)
    assert [(f["reason"], f["error"]) for f in failures] == [(REASON, ERROR)]
    status = json.loads(workers.sluice("status", job_id, "--json").stdout)
    assert status["reasons"] == {REASON: 1}
    table = workers.run_with(wide, "failures", "list", "--job", job_id).stdout
    assert "[bold]boom[/bold]" in table and "\\x1b]8;;http://evil.example" in table
