"""sluice's Celery workers: ``celery -A workers worker`` (every stage, or ``-Q fetch`` for
some) finds :data:`app` here."""

from workers.app import app

__all__ = ["app"]
