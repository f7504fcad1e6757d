"""The ``sluice`` command: one entry point, one subcommand per job."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from shared.settings import get_settings, setting_problem

__all__ = ["build_parser", "main"]

EXIT_BAD_SETTING = 2


def build_parser() -> argparse.ArgumentParser:
    # Imported here: loading the commands reads the settings, which main checks first.
    from cli import (
        articles,
        db,
        dedup,
        failures,
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
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (
        up,
        submit,
        status,
        verify,
        articles,
        failures,
        worker,
        flower,
        metrics,
        db,
        dedup,
    ):
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        get_settings()  # every setting with a format is parsed here, before any work
    except ValidationError as exc:
        print(f"sluice: {setting_problem(exc)}", file=sys.stderr)
        return EXIT_BAD_SETTING
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
