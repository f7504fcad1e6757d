"""Deterministic news prose for the generated sites: headlines, bylines, teasers and
paragraphs, the same for the same seed and key, and no two keys sharing a phrase."""

from __future__ import annotations

import random

__all__ = ["byline", "headline", "paragraphs", "teaser"]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NOUNS = _words(
    "harbour council storm river bridge market winter ferry mayor budget school railway "
    "festival museum library farmers harvest fishermen tourists station tunnel airport "
    "hospital court election teachers students factory workers union strike weather flood "
    "drought forest wildfire village mountain coast island lighthouse canal lock barge "
    "orchestra stadium referendum minister committee inquiry pension tram cyclists bakery "
    "vineyard glacier dam reservoir satellite telescope laboratory vaccine clinic nurses "
    "pilots dockers miners brewery cathedral parliament senate governor prosecutor "
    "magistrate tenants landlords ferrymen lifeboat coastguard highway roundabout pier "
    "quarry sawmill orchard meadow marsh estuary delta lagoon"
)
_VERBS = _words(
    "approves rejects delays opens closes expands reviews questions welcomes blocks funds "
    "repairs replaces inspects studies rebuilds protects doubles halves reopens postpones "
    "defends challenges announces cancels restores measures"
)
_ADJECTIVES = _words(
    "new old northern southern eastern western coastal rural urban disputed overdue "
    "ambitious modest temporary permanent cautious surprising quiet crowded flooded "
    "frozen historic"
)
_FIRST = _words("Ada Bram Cleo Dirk Esme Femke Gus Hana Ivo Jule Kees Lotte Mads Nora Otto Pim")
_LAST = _words("Aalders Brink Claes Dekker Evers Faber Groot Hols Ives Jansen Kok Laan Mol")


def _rng(seed: int, key: str) -> random.Random:
    return random.Random(f"{seed}:{key}")


def headline(seed: int, key: str) -> str:
    """A headline such as ``Coastal council delays harbour budget``."""
    rng = _rng(seed, f"headline:{key}")
    words = [rng.choice(_ADJECTIVES), rng.choice(_NOUNS), rng.choice(_VERBS)]
    words += [rng.choice(_NOUNS), rng.choice(_NOUNS)]
    return " ".join(words).capitalize()


def byline(seed: int, key: str) -> str:
    rng = _rng(seed, f"byline:{key}")
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def _sentence(rng: random.Random, key: str, n: int) -> str:
    words = [rng.choice(_NOUNS + _VERBS + _ADJECTIVES) for _ in range(rng.randint(9, 17))]
    # A number of the key's own in each sentence keeps two pages' sentences apart even
    # where the random words repeat.
    words.insert(rng.randint(1, len(words) - 1), f"{key}-{n}")
    return " ".join(words).capitalize() + "."


def teaser(seed: int, key: str) -> str:
    """One sentence summing up the story, for hub pages."""
    return _sentence(_rng(seed, f"teaser:{key}"), "summary", 0)


def paragraphs(seed: int, key: str, count: int) -> list[str]:
    """``count`` paragraphs of three to five sentences each."""
    rng = _rng(seed, f"text:{key}")
    out: list[str] = []
    for p in range(count):
        out.append(" ".join(_sentence(rng, key, p * 10 + s) for s in range(rng.randint(3, 5))))
    return out
