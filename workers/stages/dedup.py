"""Dedup stage: exact and near duplicates, decided once for the whole cluster in Redis.

One Lua script takes the whole decision, so it is a single atomic step however many
workers race on copies of one article: claim → exact text → near-duplicate lookup → insert.
Exactly one copy becomes the original; every other copy points at it.

Redis keys (under :data:`shared.redis_state.KEY_PREFIX`), hash-bucketed so that a few
thousand keys hold the whole index and each article costs a few hundred bytes:

* ``claims:<bucket>`` (hash) — who owns an identity (canonical URL, or text fingerprint for
  URL-less texts): field = 12-byte digest of the identity, value = ``"<job>:<item> <id>"``,
  where ``<id>`` becomes the original's id once the owner turned out to be a duplicate. A
  second submission of the same page is a duplicate of the owner, unless it asked for a
  re-fetch. The owner may run again (a redelivered task) and is recognised as itself.
* ``texts:<bucket>`` (hash) — the original that first had a normalized text: field = a
  12-byte digest of the text fingerprint, value = article id. Another article with the
  same text is an exact duplicate (similarity 1.0).
* ``bands:<bucket>`` (string, four times as many buckets) — the LSH band index of
  originals: 16-byte records, a 4-byte band tag and the 12-byte packed article id. Records
  sharing a tag are candidates.
* ``sigs:<bucket>`` (hash) — each original's MinHash signature (one byte per permutation),
  field = packed article id, used to verify candidates and estimate their similarity.
* ``dedup:layout`` (string) — the fingerprint layout the index was built with; a worker
  with other settings refuses to decide rather than silently miss duplicates.

Only originals enter the near index, so a copy of a copy is compared with the original.
Article ids are normally 24 hex digits and packed into 12 bytes; other ids are hashed to 12
bytes and their text is kept after the signature.
"""

from __future__ import annotations

import contextlib
import hashlib
from dataclasses import dataclass

import redis

from shared import fingerprints
from shared.article import Article
from shared.errors import PermanentError
from shared.fingerprints import Fingerprint, NearDupLayout
from shared.identity import canonicalize_url, text_fingerprint
from shared.redis_state import KEY_PREFIX
from shared.settings import Settings, get_settings

__all__ = [
    "Decision",
    "DedupIndex",
    "claimed_identities",
    "dedup",
    "identity_of",
    "item_key",
    "layout_from_settings",
]

# Most candidates verified per decision: bounds the work if a band bucket ever fills up.
MAX_CANDIDATES = 64
_RECORD = 16  # bytes per band record: 4-byte tag + 12-byte packed id

# Helpers shared by the scripts. A packed id is 12 bytes; a signature is N bytes.
_LUA_HELPERS = """
local function find_record(s, needle, width)
  local pos = 1
  while true do
    local i = string.find(s, needle, pos, true)
    if not i then return nil end
    if (i - 1) % width == 0 then return i end
    pos = i + 1
  end
end

local function sig_key(prefix, modulus, packed)
  local bucket = (string.byte(packed, 1) * 256 + string.byte(packed, 2)) % modulus
  return prefix .. string.format('%04x', bucket)
end

-- A new article has no band records yet: they are appended without reading the buckets.
-- One that is indexed already (processed again) gets only the records it lacks.
local function insert_near(band_keys, tags, packed, sig_bucket, sig_value, held)
  local indexed = redis.call('HEXISTS', sig_bucket, packed) == 1
  for j = 1, #band_keys do
    local record = tags[j] .. packed
    local s = held and held[j] or redis.call('GET', band_keys[j]) or ''
    if not (indexed and find_record(s, record, 16)) then
      redis.call('SET', band_keys[j], s .. record)
    end
  end
  redis.call('HSET', sig_bucket, packed, sig_value)
end
"""

# KEYS: 1 layout, 2 claim bucket, 3 text bucket ('' to skip), 4 own signature bucket,
#       5.. band buckets.
# ARGV: 1 claim field, 2 item key, 3 article id, 4 "1" to take over an existing claim,
#       5 text field, 6 packed id, 7 signature ('' to skip the near check), 8 id suffix kept
#       after the signature, 9 least equal signature bytes, 10 layout stamp,
#       11 signature key prefix, 12 signature bucket count, 13 most candidates, 14.. band tags.
# Returns {verdict, article id, equal signature bytes or ''}.
_DECIDE = (
    _LUA_HELPERS
    + """
local near = ARGV[7] ~= ''
if near then
  local layout = redis.call('GET', KEYS[1])
  if not layout then
    redis.call('SET', KEYS[1], ARGV[10])
  elseif layout ~= ARGV[10] then
    return {'layout', layout, ''}
  end
end

local owner = redis.call('HGET', KEYS[2], ARGV[1])
if owner then
  local owner_item, target = string.match(owner, '^(%S+) (%S+)$')
  if owner_item ~= ARGV[2] and ARGV[4] ~= '1' then return {'claimed', target, ''} end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])

local first = false
if KEYS[3] ~= '' then
  first = redis.call('HGET', KEYS[3], ARGV[5])
  if first and first ~= ARGV[3] then
    -- Remember the original in the claim, so later re-submissions point straight at it.
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. first)
    return {'duplicate', first, ''}
  end
end

local band_keys, tags, held = {}, {}, {}
if near then
  local sig = ARGV[7]
  local n = #sig
  local mine = {string.byte(sig, 1, n)}
  local modulus = tonumber(ARGV[12])
  local limit = tonumber(ARGV[13])
  local seen, checked = {}, 0
  local best, best_packed, best_matches = nil, nil, tonumber(ARGV[9]) - 1
  for j = 5, #KEYS do
    local tag = ARGV[j + 9]
    band_keys[#band_keys + 1] = KEYS[j]
    tags[#tags + 1] = tag
    local s = redis.call('GET', KEYS[j])
    held[#held + 1] = s or ''
    if s then
      local pos = 1
      while checked < limit do
        local i = string.find(s, tag, pos, true)
        if not i then break end
        if (i - 1) % 16 == 0 then
          local candidate = string.sub(s, i + 4, i + 15)
          pos = i + 16
          if candidate ~= ARGV[6] and not seen[candidate] then
            seen[candidate] = true
            checked = checked + 1
            local other = redis.call('HGET', sig_key(ARGV[11], modulus, candidate), candidate)
            if other then
              local theirs = {string.byte(other, 1, n)}
              local matches = 0
              for p = 1, n do
                if mine[p] == theirs[p] then matches = matches + 1 end
              end
              if matches > best_matches then
                best, best_packed, best_matches = other, candidate, matches
              end
            end
          end
        else
          pos = i + 1
        end
      end
    end
  end
  if best then
    local id = string.sub(best, n + 1)
    if id == '' then
      id = string.gsub(best_packed, '.', function(c)
        return string.format('%02x', string.byte(c))
      end)
    end
    redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. id)
    return {'duplicate', id, tostring(best_matches)}
  end
end

if KEYS[3] ~= '' and not first then redis.call('HSET', KEYS[3], ARGV[5], ARGV[3]) end
if near then insert_near(band_keys, tags, ARGV[6], KEYS[4], ARGV[7] .. ARGV[8], held) end
return {'original', ARGV[3], ''}
"""
)

# KEYS[1] claim bucket; ARGV: 1 claim field, 2 item key, 3 article id, 4 "1" to take over.
_CLAIM = """
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner then
  local owner_item, target = string.match(owner, '^(%S+) (%S+)$')
  if owner_item ~= ARGV[2] and ARGV[4] ~= '1' then return {'claimed', target} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
return {'original', ARGV[3]}
"""

# KEYS[1] claim bucket; ARGV[1] claim field, ARGV[2] item key. Drops it if this item holds it.
_RELEASE = """
local owner = redis.call('HGET', KEYS[1], ARGV[1])
if owner and string.sub(owner, 1, #ARGV[2] + 1) == ARGV[2] .. ' ' then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""

# Rebuild from the store: fills in what is missing, never overwrites a live entry.
# KEYS: 1 layout, 2 text bucket ('' to skip), 3 own signature bucket, 4.. band buckets.
# ARGV: 1 text field, 2 article id, 3 packed id, 4 signature value ('' to skip),
#       5 layout stamp, 6.. band tags.
_RESTORE = (
    _LUA_HELPERS
    + """
if KEYS[2] ~= '' then redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) end
if ARGV[4] == '' then return 0 end
local layout = redis.call('GET', KEYS[1])
if not layout then
  redis.call('SET', KEYS[1], ARGV[5])
elseif layout ~= ARGV[5] then
  return redis.error_reply('dedup index layout is ' .. layout)
end
local band_keys, tags = {}, {}
for j = 4, #KEYS do
  band_keys[#band_keys + 1] = KEYS[j]
  tags[#tags + 1] = ARGV[j + 2]
end
insert_near(band_keys, tags, ARGV[3], KEYS[3], ARGV[4])
return 1
"""
)


@dataclass(frozen=True, slots=True)
class Decision:
    """``original``, ``claimed`` (a re-submission of an owned identity) or ``duplicate``.

    ``similarity`` is 1.0 for an exact duplicate (or a claimed identity) and the estimated
    Jaccard similarity of the word shingles for a near duplicate; ``None`` for an original.
    """

    verdict: str
    article_id: str
    similarity: float | None = None

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


def layout_from_settings(settings: Settings) -> NearDupLayout:
    """The near-duplicate layout the ``SLUICE_DEDUP_*`` settings describe."""
    return NearDupLayout(
        shingle_words=settings.dedup_shingle_words,
        bands=settings.dedup_bands,
        rows=settings.dedup_band_rows,
        threshold=settings.dedup_threshold,
    )


def _digest(value: str) -> bytes:
    return hashlib.blake2b(value.encode("utf-8"), digest_size=12).digest()


def _packed_id(article_id: str) -> tuple[bytes, bytes]:
    """12 bytes for ``article_id``, and the text to keep beside them ('' when they unpack)."""
    if len(article_id) == 24:
        with contextlib.suppress(ValueError):
            packed = bytes.fromhex(article_id)
            if packed.hex() == article_id:
                return packed, b""
    return _digest("id:" + article_id), article_id.encode("utf-8")


class DedupIndex:
    """The cluster-wide index of exact and near duplicates in Redis.

    ``layout``, ``bucket_bits`` and ``near`` (look for near duplicates at all) default to the
    ``SLUICE_DEDUP_*`` settings.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str = KEY_PREFIX,
        layout: NearDupLayout | None = None,
        bucket_bits: int | None = None,
        near: bool | None = None,
    ) -> None:
        settings = get_settings()
        self.near = settings.dedup_near if near is None else near
        self.client = client
        self.prefix = prefix
        self.layout = layout or layout_from_settings(settings)
        self.bucket_bits = bucket_bits if bucket_bits is not None else settings.dedup_bucket_bits
        if not 1 <= self.bucket_bits <= 16:
            raise ValueError("bucket_bits must be between 1 and 16")
        self._buckets = 1 << self.bucket_bits
        # Each original writes one record per band (20) but one entry of each other kind:
        # four times as many band keys keep the band strings short as the index grows.
        self._band_buckets = 1 << (self.bucket_bits + 2)
        self._decide = client.register_script(_DECIDE)
        self._claim = client.register_script(_CLAIM)
        self._release = client.register_script(_RELEASE)
        self._restore = client.register_script(_RESTORE)

    # --- keys -----------------------------------------------------------------------------

    def _bucket(self, kind: str, digest: bytes) -> str:
        return f"{self.prefix}{kind}:{int.from_bytes(digest[:2], 'big') % self._buckets:04x}"

    def _claim_slot(self, identity: str) -> tuple[str, bytes]:
        digest = _digest("identity:" + identity)
        return self._bucket("claims", digest), digest

    def _text_slot(self, fingerprint: str) -> tuple[str, bytes]:
        digest = _digest("text:" + fingerprint)
        return self._bucket("texts", digest), digest

    def _band_slots(self, near: Fingerprint) -> tuple[list[str], list[bytes]]:
        keys = [
            f"{self.prefix}bands:{int.from_bytes(band[:3], 'big') % self._band_buckets:05x}"
            for band in near.bands
        ]
        return keys, [band[4:8] for band in near.bands]

    @property
    def layout_key(self) -> str:
        return f"{self.prefix}dedup:layout"

    @property
    def key_patterns(self) -> tuple[str, ...]:
        """Glob patterns of every key this index writes (for ``sluice dedup rebuild --clear``)."""
        kinds = ("claims", "texts", "bands", "sigs")
        return (*(f"{self.prefix}{kind}:*" for kind in kinds), self.layout_key)

    # --- decisions ------------------------------------------------------------------------

    def claim(self, identity: str, item: str, article_id: str, takeover: bool = False) -> Decision:
        """Claim ``identity`` for ``item`` unless another item owns it."""
        key, field = self._claim_slot(identity)
        verdict, owner = self._claim(
            keys=[key], args=[field, item, article_id, "1" if takeover else "0"]
        )
        decision = Decision(verdict.decode(), owner.decode())
        if not decision.is_original:
            return Decision(decision.verdict, decision.article_id, 1.0)
        return decision

    def decide(
        self,
        identity: str,
        fingerprint: str,
        item: str,
        article_id: str,
        takeover: bool = False,
        near: Fingerprint | None = None,
    ) -> Decision:
        """Claim ``identity``, check the text ``fingerprint`` and, given the ``near``
        fingerprint, look for a near duplicate, then register an original: one atomic step.
        """
        claim_key, claim_field = self._claim_slot(identity)
        text_key, text_field = self._text_slot(fingerprint)
        packed, suffix = _packed_id(article_id)
        band_keys, tags = self._band_slots(near) if near else ([], [])
        verdict, owner, matches = self._decide(
            keys=[
                self.layout_key,
                claim_key,
                text_key,
                self._bucket("sigs", packed),
                *band_keys,
            ],
            args=[
                claim_field,
                item,
                article_id,
                "1" if takeover else "0",
                text_field,
                packed,
                near.signature if near else b"",
                suffix,
                self.layout.min_matches,
                self.layout.stamp,
                f"{self.prefix}sigs:",
                self._buckets,
                MAX_CANDIDATES,
                *tags,
            ],
        )
        verdict = verdict.decode()
        if verdict == "layout":
            raise PermanentError(
                "dedup_layout",
                f"the dedup index was built as {owner.decode()!r}, this worker uses "
                f"{self.layout.stamp!r}: run `sluice dedup rebuild --clear`",
            )
        if verdict == "original":
            return Decision(verdict, owner.decode())
        if not matches:
            return Decision(verdict, owner.decode(), 1.0)
        # A near duplicate's text differs from its original's, so it never reports 1.0.
        similarity = min(round(self.layout.estimate(int(matches)), 3), 0.999)
        return Decision(verdict, owner.decode(), similarity)

    def release(self, identity: str, item: str) -> None:
        """Let go of a claim this item holds (after it failed), so the page may come again."""
        key, field = self._claim_slot(identity)
        self._release(keys=[key], args=[field, item])

    # --- rebuilding from the store --------------------------------------------------------

    def restore_claim(
        self,
        identity: str,
        item: str,
        target_id: str,
        client: redis.Redis | redis.client.Pipeline | None = None,
    ) -> bool | None:
        """Record that ``item`` owns ``identity`` (as ``target_id``) unless someone does:
        True when it was missing (``None`` when queued on a pipeline)."""
        key, field = self._claim_slot(identity)
        answer = (client or self.client).hsetnx(key, field, f"{item} {target_id}")
        return None if client is not None else bool(answer)

    def restore_original(
        self,
        article_id: str,
        fingerprint: str | None,
        near: Fingerprint | None,
        client: redis.client.Pipeline | None = None,
    ) -> None:
        """Put a stored original back: its text fingerprint and its near-duplicate entries."""
        packed, suffix = _packed_id(article_id)
        band_keys, tags = self._band_slots(near) if near else ([], [])
        text_key, text_field = self._text_slot(fingerprint) if fingerprint else ("", b"")
        self._restore(
            keys=[self.layout_key, text_key, self._bucket("sigs", packed), *band_keys],
            args=[
                text_field,
                article_id,
                packed,
                near.signature + suffix if near else b"",
                self.layout.stamp,
                *tags,
            ],
            client=client,
        )

    def clear(self) -> int:
        """Delete every key of this index; returns how many were deleted."""
        deleted = 0
        for pattern in self.key_patterns:
            batch = list(self.client.scan_iter(pattern, count=1000))
            for start in range(0, len(batch), 500):
                deleted += self.client.delete(*batch[start : start + 500])
        return deleted


def dedup(article: Article, index: DedupIndex) -> Article:
    """Decide whether ``article`` is an original; if not, set ``duplicate_of`` and
    ``similarity``."""
    decision = index.decide(
        identity_of(article),
        text_fingerprint(article.text),
        item_key(article),
        article.id,
        takeover=article.refetch,
        near=fingerprints.fingerprint(article.text, index.layout) if index.near else None,
    )
    if not decision.is_original:
        article.duplicate_of = decision.article_id
        article.similarity = decision.similarity if decision.similarity is not None else 1.0
    return article
