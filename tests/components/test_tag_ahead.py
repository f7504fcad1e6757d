"""workers.tagging.tag_ahead: tagging the articles waiting in the tag queue along with one's own.

Messages are sent to the ``tag`` queue of a real Redis by a real Celery producer, as the
dedup stage sends them; the model is the configured spaCy model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
import redis
from celery import Celery

from sluice.shared.article import Article
from sluice.shared.settings import Settings
from sluice.workers.tagging.entities import load_model, tag
from sluice.workers.tagging.tag_ahead import (
    TagAhead,
    entry_key,
    tag_with_lookahead,
    waiting_articles,
)

if TYPE_CHECKING:
    from spacy.language import Language

TEXTS = (
    "Angela Merkel met Emmanuel Macron in Paris on Monday to talk about trade.",
    "Apple said it would open a new office in Berlin, according to Reuters.",
    "The United Nations sent observers to Kyiv after talks with Volodymyr Zelensky.",
    "Toyota and Honda reported higher sales in Japan, the Financial Times said.",
)
CHUNK = 100_000


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load_model(Settings().spacy_pipelines["en"])


@pytest.fixture(params=["zlib", None], ids=["compressed", "plain"])
def tag_queue(
    redis_client: redis.Redis, redis_url: str, request: pytest.FixtureRequest
) -> Iterator[Celery]:
    """A producer sending ``workers.tag`` tasks to an empty tag queue on the test Redis, with
    the workers' message compression and without."""
    redis_client.delete("tag")
    app = Celery("tag-ahead-test", broker=redis_url)
    app.conf.update(task_serializer="json", accept_content=["json"], task_compression=request.param)
    yield app
    redis_client.delete("tag")
    app.close()


def _send(app: Celery, *texts: str) -> list[Article]:
    articles = [Article("job", n, id=f"a{n}", text=text) for n, text in enumerate(texts)]
    for article in articles:
        app.send_task("workers.tag", args=[article.to_dict()], queue="tag")
    return articles


def _ahead(client: redis.Redis) -> TagAhead:
    return TagAhead(client, Settings().spacy_pipelines["en"], CHUNK)


def _lookahead(article: Article, nlp: Language, ahead: TagAhead, **options: int) -> Article:
    settings = {"batch_size": 4, "ahead_max_chars": 20_000} | options
    return tag_with_lookahead(
        article, nlp, ahead, chunk_chars=CHUNK, max_chars=1_000_000, **settings
    )


def test_waiting_articles_are_read_in_queue_order_and_left_in_the_queue(
    tag_queue: Celery, redis_client: redis.Redis
) -> None:
    sent = _send(tag_queue, *TEXTS[:3])
    redis_client.lpush("tag", b"not a kombu message")  # skipped, not fatal
    waiting = list(waiting_articles(redis_client, "tag", 3))
    assert [a.id for a in waiting] == [a.id for a in sent[:3]]
    assert waiting[0].text == TEXTS[0]
    assert redis_client.llen("tag") == 4


def test_waiting_articles_get_the_entities_their_own_tagging_would(
    tag_queue: Celery, redis_client: redis.Redis, nlp: Language
) -> None:
    waiting = _send(tag_queue, *TEXTS[1:])
    ahead = _ahead(redis_client)
    own = _lookahead(Article("job", 9, text=TEXTS[0]), nlp, ahead)
    assert own.entities == tag(Article("job", 9, text=TEXTS[0]), nlp).entities

    for article in waiting:
        expected = tag(Article("job", 0, text=article.text), nlp).entities
        assert expected  # every sample text names someone or something
        assert ahead.take(article.text) == expected
        assert ahead.take(article.text) is None  # handed out once
    # Another tagger finds them claimed and leaves them alone.
    assert _ahead(redis_client).claim(list(TEXTS[1:]), 20_000, 10) == []


def test_a_batch_fills_up_past_texts_another_task_claimed(redis_client: redis.Redis) -> None:
    first, second = _ahead(redis_client), _ahead(redis_client)
    assert [w.text for w in first.claim(list(TEXTS[:2]), 20_000, 2)] == list(TEXTS[:2])
    # The next tagger sees the same queue head: it skips the two claimed and takes the rest.
    assert [w.text for w in second.claim(list(TEXTS), 20_000, 2)] == list(TEXTS[2:])
    assert second.claim(list(TEXTS), 20_000, 2) == []


def test_a_task_uses_the_entry_left_for_it(
    tag_queue: Celery, redis_client: redis.Redis, nlp: Language
) -> None:
    ahead = _ahead(redis_client)
    (article,) = _send(tag_queue, TEXTS[1])
    _lookahead(Article("job", 9, text=TEXTS[0]), nlp, ahead)
    redis_client.set(ahead.key(TEXTS[1]), '[["Planted", "ORG", 0, 5]]')  # not what spaCy says
    assert [e.text for e in _lookahead(article, nlp, ahead).entities] == ["Planted"]


def test_long_texts_and_batch_size_one_tag_only_their_own(
    tag_queue: Celery, redis_client: redis.Redis, nlp: Language
) -> None:
    ahead = _ahead(redis_client)
    _send(tag_queue, TEXTS[1] * 10, TEXTS[2])
    _lookahead(Article("job", 9, text=TEXTS[0]), nlp, ahead, ahead_max_chars=len(TEXTS[1]) * 5)
    assert ahead.take(TEXTS[1] * 10) is None
    assert ahead.take(TEXTS[2]) is not None

    _send(tag_queue, TEXTS[3])
    _lookahead(Article("job", 8, text=TEXTS[0]), nlp, ahead, batch_size=1)
    assert ahead.take(TEXTS[3]) is None


def test_entries_are_keyed_by_text_model_and_chunk_size() -> None:
    key = entry_key(TEXTS[0], "model-a", 1000)
    assert key == entry_key(TEXTS[0], "model-a", 1000)
    assert len({key, entry_key(TEXTS[1], "model-a", 1000)}) == 2
    assert len({key, entry_key(TEXTS[0], "model-b", 1000)}) == 2
    assert len({key, entry_key(TEXTS[0], "model-a", 2000)}) == 2


def test_only_articles_of_the_same_language_are_tagged_ahead(
    tag_queue: Celery, redis_client: redis.Redis, nlp: Language
) -> None:
    """A waiting article in another language may need another pipeline: it is left alone."""
    english = Article("job", 1, id="en", text=TEXTS[1], language="en")
    french = Article("job", 2, id="fr", text="Emmanuel Macron était à Lyon mardi.", language="fr")
    for article in (english, french):
        tag_queue.send_task("workers.tag", args=[article.to_dict()], queue="tag")
    ahead = _ahead(redis_client)
    _lookahead(Article("job", 9, text=TEXTS[0], language="en"), nlp, ahead)
    assert ahead.take(english.text) is not None
    assert ahead.take(french.text) is None
