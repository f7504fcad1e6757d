"""The seen set of a job's found URLs, in Redis, small per URL, with the crawl's caps.

Each canonical URL is kept as an 8-byte digest (BLAKE2b), a field of one of the job's
*bucket* hashes (``seen:<job>:<n>``), its value the item that found it first (an integer).
Buckets are sized to hold about 64 URLs each at the crawl's ``max_pages``, so Redis keeps
every one in its compact listpack encoding (up to ``hash-max-listpack-entries``, 128 by
default): about 16 bytes per URL, measured in ``benchmarks/seen_set_memory.py`` and stated
in the README. The chance that two of 10 million URLs share a digest is about 3 in a
million, and such a URL would be taken for seen.

Claiming is one script call per page: a URL already in the set is ``known`` (or ``again``
this finder's, when its task runs again); a new one is counted against the crawl's caps
(``max_pages``, the per-host cap, the per-pattern cap of :mod:`workers.crawl.traps`) in the
job's ``caps`` hash and, if it fits, added. So the set never holds more than ``max_pages``
URLs, and a URL dropped by a cap is not remembered (found again, it is dropped again).

Most patterns are met once (a dated article's ``/0/0/0/its-slug`` is its own), so the caps
hash counts only patterns that repeat: a pattern's first URL sets its bits in the job's
*pattern filter* (``seen:<job>:patterns``, a Bloom filter of 10 bits per URL of
``max_pages``, :data:`_FILTER_HASHES` bits per pattern, under 1% false positives when
full), and only a pattern the filter already holds gets a counter, starting at 2. The
filter is one string of 1.25 bytes per URL of ``max_pages``, made whole when the crawl's
first pattern comes: its size is fixed by the crawl, not by the URLs it finds. A false
positive starts a once-met pattern's counter at 2, so that pattern (if it ever repeats) is
capped one URL early.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

import redis

from sluice.shared.redis_state import KEY_PREFIX

__all__ = [
    "DEFAULT_BUCKETS",
    "Claim",
    "Verdict",
    "buckets_for",
    "caps_key",
    "claim",
    "forget",
    "seen_size",
    "url_digest",
]

#: Buckets of a job that sets no ``max_pages`` (work found outside a site crawl).
DEFAULT_BUCKETS = 256
_PER_BUCKET = 64
_MAX_BUCKETS = 1 << 20
TTL = 30 * 86400

# Bits a pattern sets in the pattern filter, and the filter's bits per URL the buckets hold.
_FILTER_HASHES = 7
_FILTER_BITS_PER_URL = 10

# KEYS[1] the job's caps hash, KEYS[2] its pattern filter, KEYS[2 + i] URL i's bucket.
# ARGV[1] finder, ARGV[2] TTL s, ARGV[3] max pages, ARGV[4] per-host cap, ARGV[5]
# per-pattern cap (0: none), ARGV[6] the filter's size in bytes, then per URL its digest,
# host, pattern key ('' for none) and the pattern's _FILTER_HASHES bit offsets in the
# filter. Returns a verdict per URL.
_CLAIM = """
local finder, ttl = ARGV[1], tonumber(ARGV[2])
local max_pages, host_cap, pattern_cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local hashes = HASHES
local stride = 3 + hashes
local filter_used = false
-- How many admitted URLs had this pattern: its counter if it repeated, else 1 when the
-- filter holds it, else 0.
local function pattern_count(pattern, at)
  local counted = redis.call('HGET', KEYS[1], 'p:' .. pattern)
  if counted then return tonumber(counted) end
  for b = 0, hashes - 1 do
    if redis.call('GETBIT', KEYS[2], ARGV[at + 3 + b]) == 0 then return 0 end
  end
  return 1
end
local verdicts = {}
for i = 3, #KEYS do
  local at = 7 + (i - 3) * stride
  local digest, host, pattern = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local owner = redis.call('HGET', KEYS[i], digest)
  local verdict
  local met = 0
  if owner then
    verdict = owner == finder and 5 or 0
  elseif max_pages > 0 and tonumber(redis.call('HGET', KEYS[1], 'pages') or 0) >= max_pages then
    verdict = 2
  elseif host_cap > 0 and tonumber(redis.call('HGET', KEYS[1], 'h:' .. host) or 0) >= host_cap then
    verdict = 3
  else
    if pattern ~= '' then met = pattern_count(pattern, at) end
    if pattern_cap > 0 and pattern ~= '' and met >= pattern_cap then
      verdict = 4
    else
      redis.call('HSET', KEYS[i], digest, finder)
      redis.call('EXPIRE', KEYS[i], ttl)
      redis.call('HINCRBY', KEYS[1], 'pages', 1)
      redis.call('HINCRBY', KEYS[1], 'h:' .. host, 1)
      if pattern ~= '' then
        if met == 0 then
          -- Made whole at once: bits set one by one would grow the string by doubling.
          if redis.call('EXISTS', KEYS[2]) == 0 then
            redis.call('SET', KEYS[2], string.rep('\\0', tonumber(ARGV[6])))
          end
          for b = 0, hashes - 1 do redis.call('SETBIT', KEYS[2], ARGV[at + 3 + b], 1) end
          filter_used = true
        else
          redis.call('HSET', KEYS[1], 'p:' .. pattern, met + 1)
        end
      end
      verdict = 1
    end
  end
  verdicts[#verdicts + 1] = verdict
end
redis.call('EXPIRE', KEYS[1], ttl)
if filter_used then redis.call('EXPIRE', KEYS[2], ttl) end
return verdicts
""".replace("HASHES", str(_FILTER_HASHES))


class Verdict(IntEnum):
    """What became of one URL offered to the seen set."""

    KNOWN = 0  # found before, by another item
    MINE = 1  # new: now this finder's
    AGAIN = 5  # this finder's already (its task runs again)
    MAX_PAGES = 2  # the crawl has admitted max_pages URLs
    HOST_CAP = 3  # its host has had the crawl's per-host cap
    PATTERN_CAP = 4  # its pattern (workers.crawl.traps) has had max_per_pattern URLs

    @property
    def is_mine(self) -> bool:
        return self in (Verdict.MINE, Verdict.AGAIN)


@dataclass(frozen=True, slots=True)
class Claim:
    """One URL to claim: its canonical form, host, and trap pattern (None: none)."""

    canonical: str
    host: str
    pattern: str | None = None


def url_digest(canonical: str) -> bytes:
    """The 8 bytes that stand for a canonical URL in the seen set."""
    return hashlib.blake2b(canonical.encode("utf-8"), digest_size=8).digest()


def buckets_for(max_pages: int | None) -> int:
    """The bucket count of a job: a power of two, about ``max_pages / 64``."""
    if not max_pages:
        return DEFAULT_BUCKETS
    count = 1
    while count * _PER_BUCKET < max_pages and count < _MAX_BUCKETS:
        count *= 2
    return count


def caps_key(job_id: str) -> str:
    """The job's counts of URLs in its seen set: ``pages``, ``h:<host>``, and ``p:<pattern>``
    for the patterns met more than once."""
    return f"{KEY_PREFIX}seen:{job_id}:caps"


def _filter_key(job_id: str) -> str:
    return f"{KEY_PREFIX}seen:{job_id}:patterns"


def _filter_bits(buckets: int, max_pages: int) -> int:
    """The pattern filter's size: 10 bits per URL of ``max_pages`` (else of the buckets)."""
    return (max_pages or buckets * _PER_BUCKET) * _FILTER_BITS_PER_URL


def _filter_offsets(pattern: str, size: int) -> list[int]:
    """The pattern filter's bits for ``pattern`` (double hashing of a 16-byte digest)."""
    digest = hashlib.blake2b(pattern.encode("utf-8"), digest_size=16).digest()
    first, second = int.from_bytes(digest[:8], "big"), int.from_bytes(digest[8:], "big") | 1
    return [(first + k * second) % size for k in range(_FILTER_HASHES)]


def _bucket_key(job_id: str, digest: bytes, buckets: int) -> str:
    return f"{KEY_PREFIX}seen:{job_id}:{int.from_bytes(digest[:4], 'big') % buckets}"


@functools.cache
def _script(client: redis.Redis) -> redis.commands.core.Script:
    return client.register_script(_CLAIM)


def claim(
    client: redis.Redis,
    job_id: str,
    finder: int,
    urls: Sequence[Claim],
    *,
    buckets: int = DEFAULT_BUCKETS,
    max_pages: int = 0,
    host_cap: int = 0,
    pattern_cap: int = 0,
) -> list[Verdict]:
    """Offer ``urls`` (distinct canonical URLs) to the job's seen set for ``finder``; one
    :class:`Verdict` per URL (caps of 0 are no caps)."""
    if not urls:
        return []
    keys = [caps_key(job_id), _filter_key(job_id)]
    size = _filter_bits(buckets, max_pages)
    args: list[str | bytes | int] = [finder, TTL, max_pages, host_cap, pattern_cap]
    args.append(-(-size // 8))
    for url in urls:
        digest = url_digest(url.canonical)
        keys.append(_bucket_key(job_id, digest, buckets))
        if url.pattern is None:
            args.extend((digest, url.host, b"", *[0] * _FILTER_HASHES))
        else:
            offsets = _filter_offsets(url.pattern, size)
            args.extend((digest, url.host, url_digest(url.pattern), *offsets))
    return [Verdict(int(v)) for v in _script(client)(keys=keys, args=args)]


def seen_size(client: redis.Redis, job_id: str) -> int:
    """How many URLs the job's seen set holds."""
    return int(client.hget(caps_key(job_id), "pages") or 0)


def forget(client: redis.Redis, job_id: str) -> int:
    """Delete the job's seen set and caps; returns the keys deleted."""
    keys = list(client.scan_iter(match=f"{KEY_PREFIX}seen:{job_id}:*", count=1000))
    return int(client.delete(*keys)) if keys else 0
