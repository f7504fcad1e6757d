"""Synthetic article texts for the dedup tests: unrelated to each other unless edited copies."""

from __future__ import annotations

import random

__all__ = ["article_text", "light_variants", "near_copies"]

_SYLLABLES = ("ka", "to", "ri", "mon", "sel", "da", "vin", "eth", "or", "lu", "pa", "gre")
_VOCABULARY = sorted(
    {
        "".join(random.Random(n).choices(_SYLLABLES, k=random.Random(-n).randint(1, 4)))
        for n in range(6000)
    }
)


def article_text(seed: int, paragraphs: int = 6) -> str:
    """A text of ``paragraphs`` paragraphs of pseudo-words; another seed, another article."""
    rng = random.Random(f"article-{seed}")
    out = []
    for _ in range(paragraphs):
        sentences = []
        for _ in range(rng.randint(2, 4)):
            words = rng.choices(_VOCABULARY, k=rng.randint(8, 18))
            sentences.append(" ".join(words).capitalize() + ".")
        out.append(" ".join(sentences))
    return "\n\n".join(out)


def near_copies(text: str) -> list[str]:
    """Lightly edited copies of ``text``, as syndication makes them."""
    paragraphs = text.split("\n\n")
    return [
        "LONDON (Reuters) - " + text,
        text + "\n\nThis story has been updated with additional reporting.",
        "\n\n".join(paragraphs[:2] + paragraphs[3:]),
        "\n\n".join(p.replace(". ", ".  ") for p in paragraphs).upper(),
        "(AP) — " + "\n\n".join(paragraphs[:-1]),
        "\n\n".join([paragraphs[0].rsplit(". ", 1)[0] + ".", *paragraphs[1:]])
        + "\n\nReporting by the news desk; editing by the wire desk.",
        "\n\n".join(reversed(paragraphs[:2])) + "\n\n" + "\n\n".join(paragraphs[2:]),
        "UPDATE 1-" + text + "\n\nFollow our live coverage for the latest.",
        "Breaking: " + "\n\n".join(paragraphs[1:]),
    ]


def light_variants(text: str) -> list[str]:
    """Nine copies of ``text`` that are all alike to each other too (pairwise similarity well
    above the threshold), so whichever of them comes first, the others are its duplicates."""
    paragraphs = text.split("\n\n")
    return [
        "LONDON (Reuters) - " + text,
        text + "\n\nThis story has been updated.",
        "  ".join(text.upper().split(" ")),
        "(AP) — " + text,
        "\n\n".join([paragraphs[0].rsplit(". ", 1)[0] + ".", *paragraphs[1:]]),
        "UPDATE 1-" + text + " Follow our live coverage.",
        text + "\n\nReporting by the news desk.",
        text.replace(". ", ".\n"),
        "Breaking: " + text,
    ]
