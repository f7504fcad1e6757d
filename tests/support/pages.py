"""Small news pages for tests that crawl: each one's text shares no phrase with another's,
so dedup keeps them all."""

from __future__ import annotations

import random
import uuid

__all__ = ["article_page"]

_WORDS = [
    "harbour",
    "council",
    "storm",
    "river",
    "bridge",
    "market",
    "winter",
    "ferry",
    "mayor",
    "budget",
    "school",
    "railway",
    "festival",
    "museum",
    "library",
    "farmers",
    "harvest",
    "fishermen",
    "tourists",
    "station",
    "tunnel",
    "airport",
    "hospital",
    "court",
    "election",
    "teachers",
    "students",
    "factory",
    "workers",
    "union",
    "strike",
    "weather",
    "flood",
    "drought",
    "forest",
    "wildfire",
    "village",
    "mountain",
    "coast",
    "island",
    "lighthouse",
    "canal",
    "lock",
    "barge",
]


def article_page(title: str) -> bytes:
    """A small news page whose text shares no phrases with any other page made here."""
    rng = random.Random(f"{title}-{uuid.uuid4()}")
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(_WORDS) for _ in range(40)).capitalize() + ".</p>"
        for _ in range(4)
    )
    return (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        f"{paragraphs}</article></body></html>"
    ).encode()
