"""Tagging ahead: a tag task tags its own article together with the next ones waiting.

Some models tag a batch of texts in one ``nlp.pipe`` pass for less than one pass per text
(en_core_web_sm on a CPU does not: 66-71 ms a text in batches of 1, 4 or 16, 79 ms in
batches of 64), but each tag task carries one article. So with ``SLUICE_TAG_BATCH_SIZE``
above 1, before tagging, a task looks at the articles waiting next in the ``tag`` queue
(without taking them off it), claims the ones nobody else is tagging, tags them all with
its own, and leaves their entities in Redis. When their own tasks run, wherever they run,
they find the entities ready and skip spaCy.

Every article still travels in its own task, so acknowledgement, retries, attempt counting,
time limits and task events are exactly those of any other task; tagging ahead only saves
work. Nothing depends on it: an entry that expired, or a claim whose tagger died, only
means the article's own task tags it.

Entries are keyed by a digest of the text to tag and the settings that shape the result
(model, chunk size), so an entry can only ever answer for the same input.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from sluice.shared.article import Article, Entity
from sluice.shared.queues import decode_message, queue_keys
from sluice.shared.redis_state import KEY_PREFIX
from sluice.workers.tagging.entities import tag_texts, text_to_tag

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["TagAhead", "Waiting", "tag_with_lookahead", "waiting_articles"]


_PREFIX = f"{KEY_PREFIX}tag-ahead:"
# A claim outlives any batch's tagging; an entry outlives the wait of an article behind it.
CLAIM_SECONDS = 300
ENTRY_SECONDS = 1800

# Claim keys in order until ARGV[1] are won; returns the (1-based) positions won. Keys
# another task claimed are skipped, so a batch fills up past them.
_CLAIM = """
local won = {}
for i, key in ipairs(KEYS) do
  if #won >= tonumber(ARGV[1]) then break end
  if redis.call('SET', key, '1', 'NX', 'EX', ARGV[2]) then table.insert(won, i) end
end
return won
"""


@dataclass(frozen=True, slots=True)
class Waiting:
    """An article waiting in the tag queue: the text to tag and its entry's key."""

    key: str
    text: str


def entry_key(text: str, model: str, chunk_chars: int) -> str:
    """The key of the entities of ``text`` tagged by ``model`` in chunks of ``chunk_chars``."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{model}\0{chunk_chars}\0".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return _PREFIX + digest.hexdigest()


def waiting_articles(client: redis.Redis, stage: str, count: int) -> Iterator[Article]:
    """Up to ``count`` articles next in line in ``stage``'s queue, left where they are.

    Kombu's workers pop a queue's list from its right end, so the next ones are there.
    """
    if count < 1:
        return
    for raw in reversed(client.lrange(queue_keys(stage)[0], -count, -1)):
        message = decode_message(raw)
        payload = message[1][0] if message and message[1] else None
        if isinstance(payload, dict):
            try:
                yield Article.from_dict(payload)
            except (TypeError, ValueError, KeyError):
                continue


class TagAhead:
    """Claims, stores and hands out entities tagged ahead, in one Redis shared by all."""

    def __init__(self, client: redis.Redis, model: str, chunk_chars: int) -> None:
        self.client = client
        self._model = model
        self._chunk_chars = chunk_chars

    def key(self, text: str) -> str:
        return entry_key(text, self._model, self._chunk_chars)

    def take(self, text: str) -> list[Entity] | None:
        """The entities tagged ahead for ``text`` (removing the entry), or ``None``."""
        raw = self.client.getdel(self.key(text))
        if raw is None:
            return None
        return [Entity(t, label, int(s), int(e)) for t, label, s, e in json.loads(raw)]

    def claim(self, candidates: Sequence[str], max_chars: int, limit: int) -> list[Waiting]:
        """Claim up to ``limit`` of ``candidates`` (texts) to tag ahead, skipping texts another
        task has claimed; longer texts than ``max_chars`` are left to their own tasks."""
        wanted: dict[str, str] = {}
        for text in candidates:
            if 0 < len(text) <= max_chars:
                wanted.setdefault(self.key(text), text)
        if not wanted or limit < 1:
            return []
        keys = list(wanted)
        won = self.client.eval(
            _CLAIM, len(keys), *(k + ":claim" for k in keys), limit, CLAIM_SECONDS
        )
        return [Waiting(keys[i - 1], wanted[keys[i - 1]]) for i in won]

    def put(self, tagged: Sequence[tuple[Waiting, list[Entity]]]) -> None:
        """Leave the entities of claimed texts for their own tasks."""
        if not tagged:
            return
        with self.client.pipeline(transaction=False) as pipe:
            for waiting, entities in tagged:
                rows = [[e.text, e.label, e.start, e.end] for e in entities]
                pipe.set(waiting.key, json.dumps(rows, ensure_ascii=False), ex=ENTRY_SECONDS)
            pipe.execute()


def tag_with_lookahead(
    article: Article,
    nlp: Language,
    ahead: TagAhead,
    *,
    chunk_chars: int,
    max_chars: int | None,
    batch_size: int,
    ahead_max_chars: int,
) -> Article:
    """Set ``article.entities`` as :func:`workers.tagging.entities.tag` does, taking them from an
    entry tagged ahead when there is one, or else tagging the article in one pass with up to
    ``batch_size - 1`` articles waiting next in the tag queue (left as entries for them)."""
    text = text_to_tag(article, max_chars)
    found = ahead.take(text)
    if found is not None:
        article.entities = found
        return article
    claimed: list[Waiting] = []
    if batch_size > 1:
        limit = min(ahead_max_chars, max_chars or ahead_max_chars)
        waiting = waiting_articles(ahead.client, "tag", 2 * batch_size)
        # Only articles of the same language: another one may need another pipeline.
        texts = [a.text for a in waiting if a.language == article.language]
        claimed = ahead.claim(texts, limit, batch_size - 1)
    results = tag_texts(nlp, [text, *(w.text for w in claimed)], chunk_chars)
    ahead.put(list(zip(claimed, results[1:], strict=True)))
    article.entities = results[0]
    return article
