"""The ``sluice`` command: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import PackageNotFoundError, version

from pydantic import ValidationError

from sluice.cli.errors import EXIT_CODES, run_command
from sluice.shared.settings import get_settings, setting_problem

__all__ = ["build_parser", "main"]

EXIT_BAD_SETTING = 2


def _version() -> str:
    try:
        return version("sluice")
    except PackageNotFoundError:
        return "unknown"


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
    levels = [logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL]
    return levels[max(0, min(len(levels) - 1, 2 - verbose + quiet))]


def _epilog() -> str:
    return "exit codes:\n" + "\n".join(f"  {code}  {what}" for code, what in EXIT_CODES.items())


def build_parser() -> argparse.ArgumentParser:
    # Imported here: loading the commands reads the settings, which main checks first.
    from sluice.cli import (
        articles,
        db,
        dedup,
        export,
        failures,
        feeds,
        flower,
        metrics,
        status,
        submit,
        up,
        verify,
        worker,
    )

    parser = argparse.ArgumentParser(
        prog="sluice",
        description="Distributed article processing: fetch → extract → dedup → tag → store. "
        "Settings come from SLUICE_* environment variables (see the README).",
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"sluice {_version()}")
    _add_verbosity(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        up,
        submit,
        status,
        verify,
        articles,
        export,
        failures,
        feeds,
        worker,
        flower,
        metrics,
        db,
        dedup,
    ):
        module.add_parser(sub)
    _add_verbosity_below(parser)
    return parser


def _add_verbosity_below(parser: argparse.ArgumentParser) -> None:
    """``-v``/``-q`` on every command and subcommand (``sluice failures list -v``)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_verbosity(command)
                _add_verbosity_below(command)


def main(argv: list[str] | None = None) -> int:
    try:
        get_settings()  # every setting with a format is parsed here, before any work
    except ValidationError as exc:
        print(f"sluice: {setting_problem(exc)}", file=sys.stderr)
        return EXIT_BAD_SETTING
    args = build_parser().parse_args(argv)
    level = log_level(getattr(args, "verbose", 0), getattr(args, "quiet", 0))
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    return run_command(args, args.func)


if __name__ == "__main__":
    sys.exit(main())
