"""Integration fixtures: a clean shared state per test, and the sample pages on the web server."""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

import pytest
import redis
from sqlalchemy import select

from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, entities, items
from tests.support.cluster import Cluster
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration


def sample_page(name: str) -> bytes:
    return resources.files("sluice.shared").joinpath("samples", name).read_bytes()


@pytest.fixture
def workers(cluster: Cluster) -> Cluster:
    """The session's workers, with the dedup index emptied so tests do not see each other."""
    client = redis.Redis.from_url(cluster.redis_url)
    for key in client.scan_iter("sluice:*", count=1000):
        client.delete(key)
    client.close()
    return cluster


@pytest.fixture
def site(web: WebServer) -> dict[str, str]:
    """The sample article on two layouts, under a path unique to this test."""
    prefix = f"/{uuid.uuid4().hex[:8]}"
    return {
        "article": web.route(
            f"{prefix}/news/belgorod.html",
            Response(body=sample_page("belgorod-euro-canals.html")),
        ),
        "syndicated": web.route(
            f"{prefix}/wire/belgorod-raid.html",
            Response(body=sample_page("belgorod-lowland-ledger.html")),
        ),
        "missing": web.url(f"{prefix}/gone.html"),
        "prefix": prefix,
    }


class Store:
    """Read what the workers stored."""

    def __init__(self, url: str) -> None:
        self.engine = get_engine(url)

    def items(self, job_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(items).where(items.c.job_id == job_id).order_by(items.c.item_id)
            )
            return [dict(r._mapping) for r in rows]

    def article(self, article_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(articles).where(articles.c.id == article_id)).one()
            return dict(row._mapping)

    def articles_where(self, *conditions: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(articles).where(*conditions))]

    def entities(self, article_id: str) -> list[tuple[str, str, int, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    entities.c.text, entities.c.label, entities.c.start_char, entities.c.end_char
                ).where(entities.c.article_id == article_id)
            )
            return [tuple(r) for r in rows]


@pytest.fixture
def store(workers: Cluster) -> Store:
    return Store(workers.database_url)
