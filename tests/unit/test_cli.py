"""cli: every command answers --help, and `sluice worker` builds the right Celery commands."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.cli.main import build_parser, main
from sluice.cli.worker import celery_worker_commands, node_names
from sluice.shared.settings import get_settings
from sluice.workers.pipeline import STAGES, Pool, by_pool


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``parser``, nested ones (``articles show``) included."""
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _commands(child, (*path, name))
    return found


COMMANDS = _commands(build_parser())


def test_the_expected_commands_exist() -> None:
    names = set(COMMANDS)
    expected = {
        ("up",),
        ("submit",),
        ("status",),
        ("articles",),
        ("articles", "list"),
        ("articles", "show"),
        ("worker",),
        ("flower",),
        ("db",),
        ("db", "upgrade"),
    }
    assert expected <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "sluice")
def test_help_exits_0(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*path, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sluice")
    assert " ".join(("sluice", *path)) in out.splitlines()[0]


def test_the_installed_sluice_command_answers_help() -> None:
    script = Path(sys.executable).parent / "sluice"
    assert script.exists(), "pip install -e . installs the sluice entry point"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    for name in ("submit", "status", "worker", "articles"):
        assert name in result.stdout


def test_no_command_or_an_unknown_one_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["no-such-command"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2
    assert "usage: sluice" in capsys.readouterr().err


def test_unknown_stage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["worker", "--stages", "fetch,bake"])
    assert info.value.code == 2
    assert "bake" in capsys.readouterr().err


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_fetch_runs_on_threads() -> None:
    (command,) = celery_worker_commands(["fetch"])
    assert command[:6] == [sys.executable, "-m", "celery", "-A", "sluice.workers", "worker"]
    assert _option(command, "-Q") == "fetch"
    assert _option(command, "--pool") == "threads"
    assert _option(command, "--concurrency") == str(get_settings().fetch_concurrency)
    assert "-E" in command  # task events, for Flower


def test_fetch_only_worker_takes_concurrency_as_threads() -> None:
    (command,) = celery_worker_commands(["fetch"], concurrency=40)
    assert _option(command, "--concurrency") == "40"


def test_cpu_stages_run_on_prefork() -> None:
    (command,) = celery_worker_commands(["extract", "tag"], concurrency=3)
    assert _option(command, "-Q") == "extract,tag"
    assert _option(command, "--pool") == "prefork"
    assert _option(command, "--concurrency") == "3"


def test_prefork_defaults_to_one_process_per_core() -> None:
    (command,) = celery_worker_commands(by_pool(Pool.PREFORK))
    expected = get_settings().worker_concurrency or os.cpu_count() or 1
    assert _option(command, "--concurrency") == str(expected)


def test_both_kinds_give_two_commands() -> None:
    threads, processes = celery_worker_commands(
        list(STAGES), concurrency=2, fetch_concurrency=12, loglevel="debug", name="box1"
    )
    assert (_option(threads, "-Q"), _option(threads, "--pool")) == ("fetch", "threads")
    assert _option(threads, "--concurrency") == "12"
    assert (_option(processes, "-Q"), _option(processes, "--pool")) == (
        ",".join(by_pool(Pool.PREFORK)),
        "prefork",
    )
    assert _option(processes, "--concurrency") == "2"
    for command in (threads, processes):
        assert _option(command, "--loglevel") == "debug"
        assert _option(command, "-n").startswith("box1-")
    assert _option(threads, "-n") != _option(processes, "-n")  # node names must differ


def test_node_names_are_stable_and_carry_no_pid() -> None:
    host = socket.gethostname()
    threads, processes = celery_worker_commands(list(STAGES))
    assert node_names([threads, processes]) == [f"fetch@{host}", f"extract-dedup-tag-store@{host}"]
    assert celery_worker_commands(list(STAGES)) == [threads, processes]  # the same every time
    (named,) = celery_worker_commands(["tag"], name="box1")
    assert node_names([named]) == [f"box1-tag@{host}"]


def test_broker_urls_compared_as_servers_and_passwords_masked() -> None:
    from sluice.shared.broker_url import broker_conflict, mask_url, same_redis

    assert same_redis("redis://127.0.0.1:6379", "redis://127.0.0.1:6379/0")
    assert same_redis("redis://LOCALHOST/0", "redis://localhost:6379/0")
    assert not same_redis("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1")
    assert not same_redis("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6380/0")
    assert mask_url("redis://:pw@h:1/0") == "redis://:***@h:1/0"
    assert mask_url("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert broker_conflict("redis://h/0", {}) is None
    assert broker_conflict("redis://h/0", {"CELERY_BROKER_URL": "redis://h:6379/0"}) is None
    line = broker_conflict("redis://:pw@h/0", {"CELERY_BROKER_URL": "redis://:pw@g/0"})
    assert line is not None and "pw" not in line and "CELERY_BROKER_URL" in line
