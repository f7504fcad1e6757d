"""A stage that cannot import what it needs is a broken process, not a failed item: a
prefork pool process exits so that a fresh one takes the task; elsewhere the error rises."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sluice.shared.article import Article
from sluice.workers import running
from sluice.workers.recovery import broken_process
from sluice.workers.recovery.broken_process import BROKEN_PROCESS_EXIT

ARTICLE = Article("job", 1, url="http://127.0.0.9/a.html")


def _half_imported(_: Article) -> None:
    raise ImportError('generic_type: type "ObjSense" is already registered!')


def _stage_body(monkeypatch: pytest.MonkeyPatch, body: Callable[[Article], object]) -> None:
    monkeypatch.setattr(running, "body_of", lambda name: body)


def test_a_pool_process_that_cannot_import_exits_instead_of_failing_the_item(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _stage_body(monkeypatch, _half_imported)
    monkeypatch.setattr(broken_process, "_is_pool_child", lambda: True)
    monkeypatch.setattr(broken_process.logging, "shutdown", lambda: None)

    def exit_now(code: int) -> None:
        raise SystemExit(code)

    monkeypatch.setattr(broken_process.os, "_exit", exit_now)
    with pytest.raises(SystemExit) as left:
        running._outcome(ARTICLE, "dedup")
    assert left.value.code == BROKEN_PROCESS_EXIT


def test_outside_a_pool_the_import_error_rises_and_no_item_is_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _stage_body(monkeypatch, _half_imported)
    monkeypatch.setattr(broken_process, "_is_pool_child", lambda: False)
    with pytest.raises(ImportError):
        running._outcome(ARTICLE, "dedup")


def test_any_other_crash_still_fails_the_item_with_its_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(_: Article) -> None:
        raise ValueError("bad page")

    _stage_body(monkeypatch, crash)
    outcome = running._outcome(ARTICLE, "dedup")
    assert outcome.reason is not None and outcome.reason.value == "internal_error"
