"""Errors a person can read: one line naming the service and its URL, and an exit code.

Every ``sluice`` command runs through :func:`run_command`. Redis or the database being
unreachable, a PostgreSQL store without sluice's schema, or a broker setting that disagrees
with ``SLUICE_REDIS_URL`` end the command with one line on stderr (JSON there with
``--json``) and one of the exit codes below, never with a traceback.

Ordinary events are no errors either (:func:`run_guarded`): Ctrl-C ends any command with
one line and exit 130 (a command that has something to say, such as ``submit``, says what
it leaves behind); output piped into a reader that stops early (``| head``) ends the
command quietly with exit 141, the status a shell reports for a program stopped by SIGPIPE,
as ``cat`` or ``git log`` are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable

from sluice.shared.broker_url import broker_conflict, mask_url, same_redis
from sluice.shared.cluster_id import EXIT_CLUSTER

__all__ = [
    "EXIT_CLOSED_PIPE",
    "EXIT_CLUSTER",
    "EXIT_CODES",
    "EXIT_DATABASE",
    "EXIT_FAILED",
    "EXIT_INPUT_FILE",
    "EXIT_INTERRUPTED",
    "EXIT_REDIS",
    "EXIT_SCHEMA",
    "EXIT_SOME_SOURCES_FAILED",
    "EXIT_USAGE",
    "broker_conflict",
    "mask_url",
    "run_command",
    "run_guarded",
    "same_redis",
]

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3  # cli.submit's --timeout
EXIT_NOTHING = 4  # cli.submit: nothing to submit
EXIT_REDIS = 5
EXIT_DATABASE = 6
EXIT_SCHEMA = 7
EXIT_INPUT_FILE = 8  # cli.submit: --file, --text or --html cannot be read or decoded
EXIT_SOME_SOURCES_FAILED = 9  # cli.submit: some feeds or sitemaps failed; the rest went in
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE

EXIT_CODES = {
    0: "success",
    EXIT_FAILED: "the work ended badly: items failed, a job did not finish, workers did not "
    "start, a search ran past SLUICE_SEARCH_TIMEOUT, stdout could not be written",
    EXIT_USAGE: "bad usage or configuration: an unknown job, a bad option, CELERY_BROKER_URL "
    "disagreeing with SLUICE_REDIS_URL, a worker name already in use",
    EXIT_TIMEOUT: "submit --timeout ran out: waiting for room in the queues, or with --wait "
    "for the job to be final",
    EXIT_NOTHING: "submit: nothing to submit (no URL found)",
    EXIT_REDIS: "Redis (SLUICE_REDIS_URL) unreachable",
    EXIT_DATABASE: "the database (SLUICE_DATABASE_URL) unreachable",
    EXIT_SCHEMA: "the PostgreSQL database has no sluice schema: run 'sluice db upgrade'",
    EXIT_INPUT_FILE: "submit: an input file (--file, --text, --html) cannot be read or decoded",
    EXIT_SOME_SOURCES_FAILED: "submit: some --feed/--sitemap sources failed or hit a limit; "
    "the rest was submitted",
    EXIT_CLUSTER: "Redis (SLUICE_REDIS_URL) and the store (SLUICE_DATABASE_URL) are not one "
    "cluster: bound to others, or not yet bound (see 'sluice cluster show')",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
    EXIT_CLOSED_PIPE: "the output's reader closed the pipe (as '| head' does): stopped quietly",
}


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _classify(exc: BaseException) -> tuple[int, str, str] | None:
    """(exit code, kind, line) for an error of a service, or ``None`` for anything else."""
    import redis
    from kombu.exceptions import OperationalError as BrokerError
    from sqlalchemy.exc import DBAPIError

    from sluice.shared.settings import get_settings

    settings = get_settings()
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | BrokerError):
        return (
            EXIT_REDIS,
            "redis_unreachable",
            f"Redis unreachable at {mask_url(settings.redis_url)}: {_first_line(exc)}",
        )
    if isinstance(exc, DBAPIError):
        url = mask_url(settings.effective_database_url)
        message = _first_line(exc.orig if exc.orig is not None else exc)
        if "no such table" in message or ("does not exist" in message and "relation" in message):
            return (
                EXIT_SCHEMA,
                "database_schema_missing",
                f"the database at {url} has no sluice schema: run 'sluice db upgrade'",
            )
        return EXIT_DATABASE, "database_unreachable", f"database unreachable at {url}: {message}"
    return None


def report(args: argparse.Namespace, code: int, kind: str, line: str) -> int:
    """Print ``line`` as the command's one error (JSON with ``--json``) and return ``code``."""
    if getattr(args, "json", False):
        error = {"error": kind, "message": line, "exit_code": code}
        sys.stderr.write(json.dumps(error) + "\n")
    else:
        sys.stderr.write(f"sluice {getattr(args, 'command', '')}: {line}\n".replace("  ", " "))
    return code


def _bring_sqlite_up_to_date(args: argparse.Namespace) -> None:
    """A SQLite store is brought to the newest schema on first use, by any command: it is
    a file on this machine that sluice owns. A PostgreSQL one is shared and is migrated
    only on purpose (``sluice db upgrade``; workers and ``sluice up`` do it as they start).
    ``sluice metrics`` only observes: it reports a store without schema as down instead.
    A store at the newest migration already is seen so without loading Alembic."""
    from sluice.shared.settings import get_settings

    if getattr(args, "command", None) in ("db", "metrics"):
        return
    url = get_settings().effective_database_url
    if url.startswith("sqlite"):
        from sluice.shared.db.revision import sqlite_is_current

        if not sqlite_is_current(url):
            from sluice.shared.db import upgrade_database

            upgrade_database(url)


def _cluster_refusal(args: argparse.Namespace) -> str | None:
    """The line refusing this command on a Redis and a store that are not one cluster
    (:mod:`cli.cluster_check`). A store that cannot be reached is left to the command, as
    is ``metrics``' store without schema (it reports that store as down)."""
    from sqlalchemy.exc import DBAPIError

    from sluice.cli.cluster_check import start_refusal

    command = getattr(args, "command", None)
    try:
        return start_refusal(command)
    except DBAPIError as exc:
        classified = _classify(exc)
        if classified is not None and classified[0] == EXIT_SCHEMA and command != "metrics":
            raise
        return None


def run_command(args: argparse.Namespace, func: Callable[[argparse.Namespace], int | None]) -> int:
    """Run ``func(args)``, turning a broker conflict or an unreachable service into one line."""
    from sluice.shared.settings import get_settings

    conflict = broker_conflict(get_settings().redis_url)
    if conflict is not None:
        return report(args, EXIT_USAGE, "broker_conflict", conflict)
    try:
        _bring_sqlite_up_to_date(args)
        problem = _cluster_refusal(args)
        if problem is not None:
            return report(args, EXIT_CLUSTER, "cluster_mismatch", problem)
        return int(func(args) or 0)
    except BrokenPipeError:
        raise  # run_guarded's
    except Exception as exc:
        classified = _classify(exc)
        if classified is None:
            raise
        return report(args, *classified)


def _pipe_closed(fd: int) -> bool:
    """Whether ``fd`` is a pipe whose reader has gone."""
    try:
        import select

        poller = select.poll()
        poller.register(fd, 0)
        return any(event & (select.POLLERR | select.POLLHUP) for _fd, event in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll() here, or fd closed
        return True


def _silence_closed_outputs() -> bool:
    """Point stdout and stderr at /dev/null where their reader has gone, so that nothing,
    not even the interpreter's last flush, writes to them again. Whether one had gone."""
    closed = False
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        if _pipe_closed(fd):
            os.dup2(devnull, fd)
            closed = True
    os.close(devnull)
    return closed


def _interrupted(argv: list[str]) -> int:
    words = [a for a in argv if not a.startswith("-")]
    command = f"sluice {words[0]}" if words else "sluice"
    try:
        if "--json" in argv:
            error = {"error": "interrupted", "message": "interrupted", "exit_code": 130}
            sys.stderr.write(json.dumps(error) + "\n")
        else:
            # On a terminal, the line starts after the "^C" the terminal echoed.
            start = "\n" if sys.stderr.isatty() else ""
            sys.stderr.write(f"{start}{command}: interrupted\n")
        sys.stderr.flush()
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    return EXIT_INTERRUPTED


def run_guarded(argv: list[str] | None, run: Callable[[list[str] | None], int]) -> int:
    """``run(argv)``, with Ctrl-C and a closed output pipe turned into their exit codes.

    Ctrl-C (SIGINT) prints ``sluice COMMAND: interrupted`` on stderr and returns 130. A
    closed pipe on stdout (or stderr) returns 141 and prints nothing. Output is flushed here, so a
    reader that left after the last write is noticed here too, not at interpreter exit.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            return run(argv)
        finally:  # after --help's SystemExit too
            sys.stdout.flush()
    except KeyboardInterrupt:
        return _interrupted(words)
    except BrokenPipeError:
        if _silence_closed_outputs():
            return EXIT_CLOSED_PIPE
        raise
