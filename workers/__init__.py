"""sluice's workers: the stages, the runner that turns their outcomes into Celery calls, and
the Celery app (:mod:`workers.celery`). ``celery -A workers worker`` finds it by Celery's
rules and serves every stage; ``-Q fetch`` picks some.

Importing this package builds nothing: the stage functions, the fetcher and the dedup index
can be used without Celery.
"""
