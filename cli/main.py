"""The ``sluice`` command: one entry point, one subcommand per job.

It answers at once: ``sluice --help``, ``--version`` and every ``COMMAND --help`` load
argparse and the command modules, nothing more. A command module imports its libraries
(SQLAlchemy, Celery, Redis, rich's tables…) inside the functions that run the command,
never at its top; ``tests/unit/test_start.py`` fails when one of them creeps in.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from sluice.cli.errors import EXIT_CODES, run_command, run_guarded

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

__all__ = ["COMMANDS", "build_parser", "command_in", "main"]

EXIT_BAD_SETTING = 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("sluice")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """argparse's parser, except that a help it cannot print is an error: argparse drops
    a write error, which would end ``sluice --help | true`` with 0 or 141 by chance."""

    def print_help(self, file: SupportsWrite[str] | None = None) -> None:
        (file or sys.stdout).write(self.format_help())


class _VersionAction(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        sys.stdout.write(f"sluice {_version()}\n")
        parser.exit()


def _add_verbosity(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: given before or after the command, neither place resets the other.
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=argparse.SUPPRESS,
        help="log more: -v info, -vv debug (default: warnings)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="count",
        default=argparse.SUPPRESS,
        help="log less: errors only",
    )


def log_level(verbose: int, quiet: int) -> int:
    """The root log level for ``-v``/``-q`` counts: WARNING by default."""
    import logging

    levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
    return levels[max(0, min(len(levels) - 1, 2 - verbose + quiet))]


def _epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {code}  {what}" for code, what in EXIT_CODES.items())


# Every command: its module under sluice.cli (whose ``add_parser`` defines it) and the line
# ``sluice --help`` shows for it, in the order shown. Only the module of the command being
# run is imported and its parser built: building all of them (90 parsers) would cost more
# than the rest of ``sluice --help``. test_start checks each line against its module's.
COMMANDS: dict[str, tuple[str, str]] = {
    "up": ("up", "start Redis (embedded if needed), workers and Flower, and run the demo"),
    "submit": ("submit", "submit URLs, feeds, sitemaps or texts"),
    "status": ("status", "items per state, and per stage: queue depth, workers, throughput"),
    "verify": ("verify", "check that every item of a job reached exactly one final state"),
    "articles": ("articles", "list, show or search stored articles"),
    "export": ("export", "write stored articles as JSONL, CSV or Parquet"),
    "failures": ("failures", "list failed items or retry them"),
    "feeds": ("feeds", "register feeds and sitemaps that sluice keeps polling"),
    "worker": ("worker", "run workers for some or all stages"),
    "flower": ("flower", "run Flower, the Celery monitor"),
    "metrics": ("metrics", "serve pipeline metrics for Prometheus"),
    "db": ("db", "database maintenance"),
    "cluster": ("cluster", "show or bind the cluster of this Redis and store"),
    "dedup": ("dedup", "maintain the cluster-wide dedup index"),
}


def command_in(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names: its first word that is not an option (the options
    before a command, ``-v``, ``-q``, ``--version`` and ``--help``, take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(load: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``sluice`` parser with the commands in ``load`` complete (every command when
    ``None``) and the others only named, with their line of help."""
    parser = _Parser(
        prog="sluice",
        description="Distributed article processing: fetch → extract → dedup → tag → store. "
        "Settings come from SLUICE_* environment variables (see the README).",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    _add_verbosity(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if load is None or name in load:
            importlib.import_module(f"sluice.cli.{module}").add_parser(sub)
            _add_verbosity_below(sub.choices[name])
        else:
            sub.add_parser(name, help=summary, add_help=False)
    return parser


def _add_verbosity_below(parser: argparse.ArgumentParser) -> None:
    """``-v``/``-q`` on a command and its subcommands (``sluice failures list -v``)."""
    _add_verbosity(parser)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_verbosity_below(command)


def _settings_problem() -> str | None:
    """What is wrong with the ``SLUICE_*`` settings, or ``None``. Every setting with a
    format is parsed here, after the command line (``--help`` needs no setting) and before
    any work."""
    from pydantic import ValidationError

    from sluice.shared.settings import get_settings, setting_problem

    try:
        get_settings()
    except ValidationError as exc:
        return setting_problem(exc)
    return None


def _run(argv: list[str] | None) -> int:
    words = sys.argv[1:] if argv is None else argv
    command = command_in(words)
    args = build_parser([command] if command else []).parse_args(words)
    problem = _settings_problem()
    if problem is not None:
        print(f"sluice: {problem}", file=sys.stderr)
        return EXIT_BAD_SETTING
    level = log_level(getattr(args, "verbose", 0), getattr(args, "quiet", 0))
    import logging

    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    return run_command(args, args.func)


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` names; Ctrl-C and a closed pipe end it without a traceback
    (see :func:`cli.errors.run_guarded`)."""
    return run_guarded(argv, _run)


if __name__ == "__main__":
    sys.exit(main())
