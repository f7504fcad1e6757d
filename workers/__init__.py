"""sluice's workers: the stages, the runner that turns their outcomes into Celery calls, and
the Celery app (:mod:`workers.celery`, which ``celery -A workers`` finds by Celery's rules).

Importing this package builds nothing: the stage functions, the fetcher and the dedup index
can be used without Celery.
"""
