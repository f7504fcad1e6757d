"""Near-duplicate fingerprints of a text: word shingles, a MinHash signature and LSH bands.

A text becomes the set of its overlapping ``shingle_words``-word shingles (NFKC, case-folded,
punctuation and quotes dropped, so those edits do not count). datasketch's MinHash
(``affine32`` scheme, seed 1) turns the set into ``bands * rows`` 32-bit minima:

* **bands**: each run of ``rows`` minima is hashed into one 8-byte band key; two texts whose
  estimated Jaccard similarity is ``s`` share at least one band with probability
  ``1 - (1 - s**rows)**bands``, so band keys find candidates without comparing every pair;
* **signature**: the low byte of each minimum (b-bit MinHash, b = 8), one byte per
  permutation, kept to verify a candidate: the share of equal bytes, corrected for the 1/256
  chance of equal low bytes, estimates the Jaccard similarity of the two shingle sets.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import unicodedata
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Fingerprint", "NearDupLayout", "fingerprint", "shingle_hashes", "words"]

# Scripts written without spaces between words (Han, kana, Thai, Lao, Khmer, Myanmar) count
# one token per character; everything else one token per run of word characters.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
_WORD = re.compile(rf"[{_UNSPACED}]|[^\W{_UNSPACED}]+")
_SEED = 1
_SCHEME = "affine32"
_BYTE_COLLISION = 1 / 256  # chance that two different minima share their low byte
# Odd 64-bit multiplier that mixes the word hashes of a shingle into one value.
_SHINGLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True, slots=True)
class NearDupLayout:
    """How texts are fingerprinted and compared; changing it needs an index rebuild."""

    shingle_words: int = 5
    bands: int = 20
    rows: int = 3
    threshold: float = 0.6

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    @property
    def min_matches(self) -> int:
        """Equal signature bytes needed for an estimated similarity of at least ``threshold``."""
        share = self.threshold * (1 - _BYTE_COLLISION) + _BYTE_COLLISION
        return max(1, math.ceil(share * self.num_perm - 1e-9))

    def estimate(self, matches: int) -> float:
        """Estimated Jaccard similarity of two texts whose signatures agree in ``matches`` bytes."""
        share = matches / self.num_perm
        return max(0.0, min(1.0, (share - _BYTE_COLLISION) / (1 - _BYTE_COLLISION)))

    @property
    def stamp(self) -> str:
        """Names everything that makes stored fingerprints comparable with new ones."""
        return (
            f"minhash-{_SCHEME}-seed{_SEED} shingle={self.shingle_words} "
            f"bands={self.bands} rows={self.rows} sig=8bit"
        )


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What the near-duplicate index keeps of a text."""

    signature: bytes  # one byte per permutation
    bands: tuple[bytes, ...]  # one 8-byte key per band


def words(text: str) -> list[str]:
    """The words of ``text`` as compared: NFKC, case-folded, without punctuation; in scripts
    without spaces, single characters."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _WORD.findall(text.casefold())


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """Distinct 32-bit hashes of the ``size``-word shingles of ``text`` (one for short texts)."""
    tokens = words(text)
    if not tokens:
        return np.zeros(0, dtype=np.uint32)
    # Hash each distinct word once, then look the hashes up by position.
    distinct: dict[str, int] = {}
    positions = np.fromiter(
        (distinct.setdefault(w, len(distinct)) for w in tokens), dtype=np.intp, count=len(tokens)
    )
    distinct_hashes = np.fromiter(
        (zlib.crc32(w.encode("utf-8")) for w in distinct), dtype=np.uint64, count=len(distinct)
    )
    word_hashes = distinct_hashes[positions]
    width = min(size, len(tokens))
    count = len(tokens) - width + 1
    combined = np.zeros(count, dtype=np.uint64)
    for offset in range(width):
        combined = combined * _SHINGLE_MULTIPLIER + word_hashes[offset : offset + count]
    folded = (combined ^ (combined >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return np.unique(folded.astype(np.uint32))


def _minhash_class() -> Any:
    """datasketch's MinHash, imported on first use: the package imports scipy (about half a
    second), which every ``sluice`` command would otherwise pay for at start."""
    from datasketch import MinHash

    return MinHash


@functools.cache
def _permutations(num_perm: int) -> np.ndarray:
    minhash = _minhash_class()(num_perm=num_perm, seed=_SEED, scheme=_SCHEME)
    permutations: np.ndarray = minhash.permutations
    return permutations


def fingerprint(text: str, layout: NearDupLayout) -> Fingerprint:
    """The MinHash signature and LSH band keys of ``text`` under ``layout``."""
    minhash = _minhash_class()(
        num_perm=layout.num_perm,
        seed=_SEED,
        hashfunc=int,
        permutations=_permutations(layout.num_perm),
        scheme=_SCHEME,
    )
    minhash.update_batch(shingle_hashes(text, layout.shingle_words).tolist())
    values = minhash.hashvalues.astype("<u4")
    signature = (values & 0xFF).astype(np.uint8).tobytes()
    bands = tuple(
        hashlib.blake2b(
            values[band * layout.rows : (band + 1) * layout.rows].tobytes(),
            digest_size=8,
            person=b"sluice-band%d" % band,
        ).digest()
        for band in range(layout.bands)
    )
    return Fingerprint(signature, bands)
