"""The language of a text, detected from the text itself (not from the page's markup).

langid (a naive Bayes model over byte n-grams, 97 languages) answers ISO 639-1 codes. Its
model loads on first use (about 3 s), and a text takes about 10 ms: only ``--language``
filters call it. The first 5,000 characters are enough to tell.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["detect_language"]

_SAMPLE = 5000


@functools.cache
def _identifier() -> Any:
    from langid.langid import LanguageIdentifier, model

    return LanguageIdentifier.from_modelstring(model, norm_probs=False)


def detect_language(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language, e.g. ``en``."""
    return str(_identifier().classify(text[:_SAMPLE])[0])
