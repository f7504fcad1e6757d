"""Dedup stage: exact duplicates, decided once for the whole cluster in Redis.

Two kinds of key, both changed by one Lua script so that the check and the claim are a
single atomic step however many workers race on the same article:

* ``claim:<identity>`` — who owns an identity (canonical URL, or text fingerprint for
  URL-less texts): ``"<job>:<item> <article id> [<original id>]"``, the last part once the
  owner turned out to be a duplicate itself. A second submission of the same page
  is a duplicate of the owner, unless it asked for a re-fetch. The owner may run again
  (a redelivered task) and is recognised as itself.
* ``text:<fingerprint>`` — the article that first had this normalized text. Another
  article with the same text is recorded as its duplicate.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import redis

from shared.article import Article
from shared.identity import canonicalize_url, text_fingerprint
from shared.redis_state import KEY_PREFIX

__all__ = ["Decision", "DedupIndex", "claimed_identities", "dedup", "identity_of", "item_key"]

# KEYS[1] claim key, KEYS[2] (optional) text key.
# ARGV[1] item key, ARGV[2] article id, ARGV[3] "1" to take over an existing claim.
_DECIDE = """
local owner = redis.call('GET', KEYS[1])
if owner then
  local owner_item, owner_article, owner_root = string.match(owner, '^(%S+) (%S+) ?(%S*)$')
  if owner_item ~= ARGV[1] and ARGV[3] ~= '1' then
    if owner_root ~= '' then return {'claimed', owner_root} end
    return {'claimed', owner_article}
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2])
if #KEYS < 2 then return {'original', ARGV[2]} end
local first = redis.call('GET', KEYS[2])
if (not first) or first == ARGV[2] then
  redis.call('SET', KEYS[2], ARGV[2])
  return {'original', ARGV[2]}
end
-- Remember the original in the claim, so later re-submissions point straight at it.
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. first)
return {'duplicate', first}
"""

# KEYS[1] claim key; ARGV[1] item key. Drops the claim only if this item holds it.
_RELEASE = """
local owner = redis.call('GET', KEYS[1])
if owner and string.sub(owner, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Decision:
    """``original``, ``claimed`` (a re-submission of an owned identity) or ``duplicate``."""

    verdict: str
    article_id: str

    @property
    def is_original(self) -> bool:
        return self.verdict == "original"


def item_key(article: Article) -> str:
    return f"{article.job_id}:{article.item_id}"


def identity_of(article: Article) -> str:
    """What makes two submissions the same article: its canonical URL, else its text."""
    if article.canonical_url:
        return article.canonical_url
    return "text:" + text_fingerprint(article.text)


def claimed_identities(article: Article) -> set[str]:
    """Every identity this item may have claimed: the submitted and the final URL, or its text."""
    identities: set[str] = set()
    if article.canonical_url:
        identities.add(article.canonical_url)
    if article.url:
        with contextlib.suppress(ValueError):
            identities.add(canonicalize_url(article.url))
    if not identities and article.text:
        identities.add(identity_of(article))
    return identities


class DedupIndex:
    """The cluster-wide exact-duplicate index in Redis."""

    def __init__(self, client: redis.Redis, prefix: str = KEY_PREFIX) -> None:
        self.client = client
        self.prefix = prefix
        self._decide = client.register_script(_DECIDE)
        self._release = client.register_script(_RELEASE)

    def _claim_key(self, identity: str) -> str:
        return f"{self.prefix}claim:{identity}"

    def _text_key(self, fingerprint: str) -> str:
        return f"{self.prefix}text:{fingerprint}"

    def claim(self, identity: str, item: str, article_id: str, takeover: bool = False) -> Decision:
        """Claim ``identity`` for ``item`` unless another item owns it."""
        verdict, owner = self._decide(
            keys=[self._claim_key(identity)], args=[item, article_id, "1" if takeover else "0"]
        )
        return Decision(verdict.decode(), owner.decode())

    def decide(
        self, identity: str, fingerprint: str, item: str, article_id: str, takeover: bool = False
    ) -> Decision:
        """Claim ``identity`` and register the text ``fingerprint``, atomically."""
        verdict, owner = self._decide(
            keys=[self._claim_key(identity), self._text_key(fingerprint)],
            args=[item, article_id, "1" if takeover else "0"],
        )
        return Decision(verdict.decode(), owner.decode())

    def release(self, identity: str, item: str) -> None:
        """Let go of a claim this item holds (after it failed), so the page may come again."""
        self._release(keys=[self._claim_key(identity)], args=[item])


def dedup(article: Article, index: DedupIndex) -> Article:
    """Decide whether ``article`` is an original; if not, set ``duplicate_of``."""
    decision = index.decide(
        identity_of(article),
        text_fingerprint(article.text),
        item_key(article),
        article.id,
        takeover=article.refetch,
    )
    if not decision.is_original:
        article.duplicate_of = decision.article_id
        article.similarity = 1.0
    return article
