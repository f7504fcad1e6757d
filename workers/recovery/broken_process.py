"""A pool process that can no longer run stages leaves, so that a fresh one takes its place.

Celery terminates running tasks when Redis goes away (they could not be acknowledged), and a
task can be stopped in the middle of a slow first import, such as dedup's of scipy. A native
module whose import was cut short stays half-registered: every later import of it in that
process fails, so every item the process took would fail too. A prefork pool process
therefore exits at once: the pool starts a fresh one, and the task, acknowledged late and
rejected when its worker is lost, is delivered again (``SLUICE_MAX_ATTEMPTS`` bounds an
import that fails in every process). In a thread or solo pool the error is raised instead.
"""

from __future__ import annotations

import logging
import multiprocessing
import os

from billiard.process import current_process

from sluice.shared.article import Article

__all__ = ["BROKEN_PROCESS_EXIT", "leave_broken_process"]

log = logging.getLogger(__name__)

BROKEN_PROCESS_EXIT = 70  # EX_SOFTWARE


def _is_pool_child() -> bool:
    names = (current_process().name, multiprocessing.current_process().name)
    return any(name.startswith("ForkPoolWorker") for name in names)


def leave_broken_process(article: Article, stage: str) -> None:
    """Log why, and end this process if it is a prefork pool's; else return (the caller
    raises the error)."""
    if not _is_pool_child():
        log.exception("%s: %s cannot import what it needs in this process", article.label, stage)
        return
    log.critical(
        "%s: %s cannot import what it needs in pool process %d; the process exits and its "
        "task goes to a fresh one",
        article.label,
        stage,
        os.getpid(),
        exc_info=True,
    )
    logging.shutdown()
    os._exit(BROKEN_PROCESS_EXIT)
