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

from dataclasses import dataclass

import redis

from sluice.shared.errors import PermanentError
from sluice.shared.fingerprints import Fingerprint, NearDupLayout
from sluice.shared.reasons import Reason
from sluice.shared.redis_state import KEY_PREFIX
from sluice.shared.settings import Settings, get_settings
from sluice.workers.dedup.keys import digest, packed_id
from sluice.workers.dedup.scripts import script

__all__ = ["MAX_CANDIDATES", "Decision", "DedupIndex", "layout_from_settings"]

# Most candidates verified per decision: bounds the work if a band bucket ever fills up.
MAX_CANDIDATES = 64


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


def layout_from_settings(settings: Settings) -> NearDupLayout:
    """The near-duplicate layout the ``SLUICE_DEDUP_*`` settings describe."""
    return NearDupLayout(
        shingle_words=settings.dedup_shingle_words,
        bands=settings.dedup_bands,
        rows=settings.dedup_band_rows,
        threshold=settings.dedup_threshold,
    )


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
        self._decide = client.register_script(script("decide"))
        self._claim = client.register_script(script("claim"))
        self._release = client.register_script(script("release"))
        self._restore = client.register_script(script("restore"))

    # --- keys -----------------------------------------------------------------------------

    def _bucket(self, kind: str, digest: bytes) -> str:
        return f"{self.prefix}{kind}:{int.from_bytes(digest[:2], 'big') % self._buckets:04x}"

    def _claim_slot(self, identity: str) -> tuple[str, bytes]:
        field = digest("identity:" + identity)
        return self._bucket("claims", field), field

    def _text_slot(self, fingerprint: str) -> tuple[str, bytes]:
        field = digest("text:" + fingerprint)
        return self._bucket("texts", field), field

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
        packed, suffix = packed_id(article_id)
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
                Reason.DEDUP_LAYOUT,
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
        packed, suffix = packed_id(article_id)
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
