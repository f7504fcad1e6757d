"""Fault injection: a few hundred articles, real workers, and something breaks mid-run.

:class:`FaultRun` serves distinct generated articles from the local web server, runs
workers per stage group with a short visibility timeout (so lost deliveries come back in
seconds, not an hour), submits everything, and checks afterwards that every item reached
exactly one final state and that the store holds no twin articles or entities.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sluice.shared.db import upgrade_database
from sluice.shared.db.engine import get_engine
from sluice.shared.db.schema import articles, entities, items
from tests.support.cluster import Cluster
from tests.support.services import RedisProvider
from tests.support.web import Response, WebServer

ITEMS = 200

FAULT_ENV = {
    "SLUICE_VISIBILITY_TIMEOUT": "12",
    "SLUICE_MAX_ATTEMPTS": "3",
    "SLUICE_FETCH_RETRY_BACKOFF": "0.5",
    "SLUICE_FETCH_RETRY_BACKOFF_MAX": "4",
    "SLUICE_FETCH_ALLOW_NETWORKS": "127.0.0.0/8",
    "SLUICE_FETCH_CONCURRENCY": "8",
    # Every page comes from one loopback host: the per-host budget would make each case take
    # minutes. Politeness has tests of its own (tests/fetching).
    "SLUICE_FETCH_HOST_RATE": "0",
    # A killed fetch worker's in-flight URL comes back from the frontier after this.
    "SLUICE_FETCH_LEASE": "8",
    # An item nobody renewed for this long is sent on by the reconciler (beat: a sixth).
    "SLUICE_ITEM_LEASE": "9",
}

_VOCABULARY = """
government minister river canal harbour freight barge shipping port council city
village border troops rebels video footage report official spokesman agency market
price energy grain harvest farmers bank loan budget parliament vote election court
judge police station bridge road railway train airport flight weather storm flood
school teacher hospital doctor patient company factory workers strike union wage museum
festival music film theatre football match coach player season league record
"""
_WORDS = tuple(_VOCABULARY.split())
_NAMES = (
    "Anna Kowalska",
    "Pieter de Vries",
    "Luca Bianchi",
    "Marta Nowak",
    "Jonas Berg",
    "Sofia Costa",
    "Tomas Novak",
    "Elena Petrova",
    "Henrik Larsen",
    "Clara Dubois",
)
_PLACES = ("Rotterdam", "Antwerp", "Gdansk", "Hamburg", "Lyon", "Porto", "Vienna", "Riga")


def article_html(index: int) -> bytes:
    """A distinct, article-like page: random sentences, a person, a place, and boilerplate."""
    rng = random.Random(index)
    paragraphs = []
    for _ in range(5):
        sentences = []
        for _ in range(3):
            words = rng.sample(_WORDS, 12)
            sentences.append(
                f"{rng.choice(_NAMES)} said in {rng.choice(_PLACES)} that the "
                + " ".join(words)
                + f" rose by {rng.randint(2, 97)} per cent."
            )
        paragraphs.append("<p>" + " ".join(sentences) + "</p>")
    return (
        (
            "<html><head><title>Report number {i}</title></head><body>"
            "<nav><a href='/'>Home</a> <a href='/world'>World</a></nav>"
            "<article><h1>Report number {i}</h1>{body}</article>"
            "<footer>Copyright the Test Gazette</footer></body></html>"
        )
        .format(i=index, body="".join(paragraphs))
        .encode()
    )


class FaultRun:
    """One fault case: its own Redis database, store, workers and set of articles."""

    def __init__(
        self,
        redis_url: str,
        database_url: str,
        data_dir: Path,
        web: WebServer,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        upgrade_database(database_url)
        self.cluster = Cluster(
            redis_url, database_url, data_dir, {**FAULT_ENV, **(extra_env or {})}
        )
        self.engine = get_engine(database_url)
        self.web = web
        self.prefix = f"/{uuid.uuid4().hex[:8]}"
        self.workers: dict[str, object] = {}
        self.job_id = ""

    # --- workers ---------------------------------------------------------------------------
    def start(self, group: str) -> None:
        """Start the ``fetch`` or ``cpu`` (extract, dedup, tag, store) worker."""
        stages = "fetch" if group == "fetch" else "extract,dedup,tag,store"
        self.workers[group] = self.cluster.start_worker("--stages", stages, "--name", group)

    def start_all(self) -> None:
        self.start("fetch")
        self.start("cpu")
        self.cluster.wait_ready()

    def kill(self, group: str, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to a worker's whole process group (main process and pool children)."""
        process = self.workers.pop(group)
        os.killpg(process.pid, sig)  # type: ignore[attr-defined]
        process.wait(timeout=120)  # type: ignore[attr-defined]
        self.cluster.processes.remove(process)  # type: ignore[arg-type]

    def terminate(self, group: str) -> None:
        """SIGTERM to the worker's main process only, as an orchestrator would send it."""
        process = self.workers.pop(group)
        process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        process.wait(timeout=180)  # type: ignore[attr-defined]
        self.cluster.processes.remove(process)  # type: ignore[arg-type]

    def pool_children(self, group: str) -> list[int]:
        pid = self.workers[group].pid  # type: ignore[attr-defined]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in children]

    # --- the job ---------------------------------------------------------------------------
    def submit(self, count: int = ITEMS, extra_urls: tuple[str, ...] = ()) -> str:
        urls = [
            self.web.route(f"{self.prefix}/story-{i}.html", Response(body=article_html(i)))
            for i in range(count)
        ]
        urls.extend(extra_urls)
        result = self.cluster.sluice("submit", "-f", "-", stdin="\n".join(urls))
        assert result.returncode == 0, result.stderr
        self.job_id = result.stdout.split()[0]
        self.submitted = len(urls)
        return self.job_id

    def states(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(items.c.state, func.count())
                .where(items.c.job_id == self.job_id)
                .group_by(items.c.state)
            )
            return {state: n for state, n in rows}

    def final_count(self) -> int:
        states = self.states()
        return sum(states.get(s, 0) for s in ("stored", "duplicate", "unchanged", "failed"))

    def wait_for(self, final: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.final_count() < final:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"only {self.states()} after {timeout}s\n" + self.cluster.logs()
                )
            time.sleep(0.3)

    def verify(self, timeout: float = 180) -> dict[str, int]:
        """Wait until the job is whole, then check the store for twins; returns the states."""
        self.wait_for(self.submitted, timeout)
        result = self.cluster.sluice("verify", self.job_id)
        assert result.returncode == 0, result.stdout + result.stderr
        with self.engine.connect() as conn:
            stored_items = conn.execute(
                select(func.count(), func.count(items.c.article_id.distinct())).where(
                    items.c.job_id == self.job_id, items.c.state == "stored"
                )
            ).one()
            assert stored_items[0] == stored_items[1], "two items stored the same article"
            twins = conn.execute(
                select(articles.c.url, func.count())
                .where(articles.c.job_id == self.job_id)
                .group_by(articles.c.url)
                .having(func.count() > 1)
            ).all()
            assert twins == [], twins
            entity_twins = conn.execute(
                select(entities.c.article_id, entities.c.start_char, entities.c.label, func.count())
                .join(articles, articles.c.id == entities.c.article_id)
                .where(articles.c.job_id == self.job_id)
                .group_by(entities.c.article_id, entities.c.start_char, entities.c.label)
                .having(func.count() > 1)
            ).all()
            assert entity_twins == [], entity_twins
            untagged = conn.execute(
                select(func.count())
                .select_from(articles)
                .where(
                    articles.c.job_id == self.job_id,
                    articles.c.duplicate_of.is_(None),
                    ~articles.c.id.in_(select(entities.c.article_id)),
                )
            ).scalar()
            assert untagged == 0, "a stored original has no entities"
        states = self.states()
        # The case's result table (shown with ``pytest -m faults -s``).
        print(
            f"\n{os.environ.get('PYTEST_CURRENT_TEST', '?').split(' ')[0]}: "
            f"{result.stdout.strip()}; states {states}; twin articles 0, twin entities 0, "
            "untagged originals 0"
        )
        return states

    def stop(self) -> None:
        self.cluster.stop()


@pytest.fixture
def fault_run(redis_provider: RedisProvider, web: WebServer, tmp_path: Path) -> Iterator[FaultRun]:
    """A fault case on SQLite (its own file) and its own Redis database."""
    redis_url = redis_provider.acquire()
    run = FaultRun(redis_url, f"sqlite:///{tmp_path / 'faults.db'}", tmp_path, web)
    yield run
    run.stop()
    redis_provider.release(redis_url)
