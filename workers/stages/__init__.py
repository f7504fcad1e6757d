"""The pipeline's stages as plain functions over :class:`shared.article.Article`.

Each module holds one stage and what only it needs; the Celery tasks in
:mod:`workers.tasks` are thin wrappers around them.
"""
