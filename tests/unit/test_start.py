"""``sluice --help``, ``--version`` and every command's ``--help`` answer at once: they load
none of the libraries the commands use when they run (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

# Libraries that take tens to hundreds of milliseconds to import, and that no help text
# needs. rich is on the list whole: help is printed by argparse.
HEAVY = (
    "alembic",
    "billiard",
    "celery",
    "charset_normalizer",
    "datasketch",
    "feedparser",
    "flower",
    "httpx",
    "kombu",
    "langid",
    "lxml",
    "numpy",
    "prometheus_client",
    "psycopg",
    "pyarrow",
    "pydantic",
    "pydantic_settings",
    "redis",
    "rich",
    "spacy",
    "sqlalchemy",
    "trafilatura",
    "warcio",
)

# Runs every command path's --help (and --version) in one interpreter, then lists which
# of HEAVY are loaded: one process checks them all.
PROBE = """
import argparse, contextlib, io, json, sys
from sluice.cli.main import build_parser, main

def paths(parser, path=()):
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += paths(child, (*path, name))
    return found

heavy = tuple(sys.argv[1:])
loaded = {}
for argv in [["--version"], *[[*p, "--help"] for p in paths(build_parser())]]:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
    now = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
    if now:
        loaded[" ".join(argv)] = now
        break
print(json.dumps(loaded))
"""


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}


def test_help_and_version_load_no_heavy_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *HEAVY],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {}, "the first --help to load a heavy library"


def test_the_sluice_command_answers_help_and_version_without_them() -> None:
    """The installed entry point, as a shell runs it: top-level --help, a command's
    --help and --version, each in a process of its own."""
    check = (
        "import runpy, sys, json\n"
        "sys.argv = ['sluice', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_path(sys.argv.pop(1), run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = {m.split('.')[0] for m in sys.modules} & set(HEAVY)\n"
        "sys.stderr.write('HEAVY ' + json.dumps(sorted(heavy)))\n"
    ).replace("HEAVY)", f"{HEAVY!r})")
    script = os.path.join(os.path.dirname(sys.executable), "sluice")
    for args in (["--help"], ["submit", "--help"], ["articles", "list", "--help"], ["--version"]):
        result = subprocess.run(
            [sys.executable, "-c", check, script, *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
        assert result.stdout.startswith(("usage: sluice", "sluice ")), result.stderr
        assert result.stderr.endswith("HEAVY []"), (args, result.stderr)


def test_the_command_list_shows_each_command_s_own_line() -> None:
    """``sluice --help`` lists the commands from main's table without building them: each
    line there is the one the command's module gives."""
    import argparse

    from sluice.cli.main import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    shown = {action.dest: action.help for action in sub._choices_actions}
    assert shown == {name: summary for name, (_module, summary) in COMMANDS.items()}
    assert list(sub.choices) == list(COMMANDS)


def test_only_the_command_being_run_is_built() -> None:
    from sluice.cli.main import build_parser, command_in

    assert command_in(["-v", "failures", "list"]) == "failures"
    assert command_in(["--version"]) is None and command_in(["nonsense"]) is None
    parser = build_parser({"status"})
    args = parser.parse_args(["-q", "status", "--json"])
    assert args.command == "status" and args.json and args.quiet == 1
