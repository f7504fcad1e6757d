"""Authors as people's names, from a byline or an author field.

``"By Jane Doe and John Roe, Reuters"`` gives ``["Jane Doe", "John Roe"]``: the lead-in words,
dates, e-mail addresses, links, handles and news agencies go; names are split on ``,``, ``;``,
``and``, ``&``; credentials after a name (``"Jane Doe, MD"``) stay with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["AUTHOR_META", "person_names"]

# Meta tags (name, property or itemprop, lower case) that name the author.
AUTHOR_META = (
    "author",
    "article:author",
    "parsely-author",
    "sailthru.author",
    "dc.creator",
    "dcterms.creator",
    "byl",
)
_LEAD_IN = re.compile(
    r"^(?:(?:written|posted|published|reported|words|story|text|article)\s+)?by\s*:?\s+"
    r"|^(?:author|authors|auteur|autor|byline)\s*:\s*",
    re.I,
)
_MONTH = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}"
    r"|\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*"
)
# Where a byline stops naming people: a date, an update note, a separator.
_TAIL = re.compile(
    rf"\s*(?:[|•·]|\bupdated\b|\bpublished\b|\bon\s+(?:{_MONTH})|(?:{_MONTH})\b|\d{{4}}-\d{{2}}).*$",
    re.I,
)
_NOISE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|(?<!\w)@\w+")
_SPLIT = re.compile(r"\s*(?:;|,|\s+and\s+|\s+&\s+|\s+und\s+|\s+et\s+|\s+y\s+)\s*", re.I)
_AGENCIES = {
    "reuters",
    "ap",
    "associated press",
    "the associated press",
    "afp",
    "agence france-presse",
    "dpa",
    "upi",
    "bloomberg",
    "staff",
    "staff writer",
    "staff reporter",
}
# Letters after a name that are a degree or title, not another person ("MD", "Ph.D.").
_CREDENTIAL = re.compile(
    r"^(?:[A-Z][A-Za-z]{0,2}\.?){1,4}(?:\s+\d+)?$|^(?:[A-Z\-]{2,6}\s*){1,2}\d*$"
)
_MAX_WORDS = 5
# Words of a job title: a name stops before them ("Jane Doe Senior Editor" is Jane Doe).
_ROLES = {
    *("former", "senior", "staff", "lead", "chief", "founder", "co-founder", "reporter"),
    *("editor", "writer", "consultant", "reviewer", "attorney", "correspondent", "columnist"),
    *("journalist", "analyst", "specialist", "expert", "director", "manager", "head"),
    *("producer", "updated", "last", "tech", "contributing", "freelance", "president", "ceo"),
}


def _pieces(byline: str) -> list[str]:
    text = _NOISE.sub(" ", byline)
    text = _LEAD_IN.sub("", text.strip())
    text = _TAIL.sub("", text)
    text = _LEAD_IN.sub("", text.strip())
    return [p.strip(" .:-–—()[]\"'") for p in _SPLIT.split(text)]


def _is_name(piece: str) -> bool:
    words = piece.split()
    if not words or len(words) > _MAX_WORDS or any(c.isdigit() for c in piece):
        return False
    if piece.casefold() in _AGENCIES:
        return False
    return any(c.isalpha() for c in piece)


def person_names(bylines: Iterable[str | None]) -> list[str]:
    """The people named by the first of ``bylines`` that names any."""
    for byline in bylines:
        if not byline or byline.strip().lower().startswith(("http://", "https://", "/")):
            continue
        names: list[str] = []
        for piece in _pieces(byline):
            if names and _CREDENTIAL.match(piece) and not _is_name_like(piece):
                names[-1] = f"{names[-1]}, {piece}"
                continue
            piece = _before_role(piece, first=not names)
            if _is_name(piece):
                names.append(" ".join(piece.split()))
        if any(len(name.split()) > 1 for name in names):
            # "Privacy" of "Jane Doe, Privacy & Security Expert" is no name beside a full one.
            names = [name for name in names if len(name.split()) > 1]
        unique = list(dict.fromkeys(names))
        if unique:
            return unique
    return []


def _before_role(piece: str, first: bool) -> str:
    """The first name's words before a job title in it; a later piece that holds a job
    title ("Security Expert" of "Jane Doe, Privacy & Security Expert") is no name."""
    words = piece.split()
    for index, word in enumerate(words):
        if word.casefold().strip(",.") in _ROLES:
            return " ".join(words[:index]) if first else ""
    return piece


def _is_name_like(piece: str) -> bool:
    """Two words or more with a lower-case letter: a name, even if it looks like letters."""
    return len(piece.split()) >= 2 and any(c.islower() for c in piece)
