"""sluice's Celery workers: ``celery -A workers worker -Q fetch`` finds :data:`app` here."""

from workers.app import app

__all__ = ["app"]
