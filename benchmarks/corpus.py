"""The benchmark's article set: corpus pages, repeated until there are enough of them.

A repeat must be a new article for dedup, or the pipeline would skip tagging it and the
two runs would do different work. Adding a sentence is not enough once near duplicates
are detected (word shingles compared by MinHash), so each repeat changes about every third
word of the page's text: one letter becomes its look-alike from the other alphabet (Latin
a/e/o and Cyrillic а/е/о, written as an HTML character reference so any page encoding
survives), or else its first two letters swap places; in scripts written without spaces,
where every character counts as a word, about a third of the characters swap places with
a neighbour. Which words change is drawn from the copy number, so copies differ from the
page and from each other in most shingles, while the text keeps its length and tokens.
Each repeat also gets a URL of its own, so ids differ.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "REPO",
    "BenchPage",
    "CorpusPage",
    "build_pages",
    "default_corpus",
    "load_corpus",
    "vary",
]

REPO = Path(__file__).resolve().parent.parent

# Parts of a page whose text is not read as article text: left exactly as they are.
_UNTOUCHED = re.compile(
    r"(<script\b.*?</script\s*>|<style\b.*?</style\s*>|<!--.*?-->|<[^>]*>)", re.S | re.I
)
# Scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar), where each character
# counts as a word: there two neighbouring characters change places.
_UNSPACED = (
    "\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
)
# A character pair of those scripts, or a word of three or more letters that is not part of
# a character reference. Pages that are not UTF-8 are read as Latin-1 (which gives back the
# same bytes) and only their ASCII words change.
_WORD = re.compile(rf"[{_UNSPACED}]{{2}}|(?<![&#\w])[^\W\d_{_UNSPACED}]{{3,}}(?![\w;])")
_ASCII_WORD = re.compile(r"(?<![&#\w])[A-Za-z]{3,}(?![\w;])")
# Letters and their look-alikes in the other alphabet (Latin <-> Cyrillic).
_LOOK_ALIKES = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "\u0430": "a",
    "\u0435": "e",
    "\u043e": "o",
}
_SHARE = 1 / 3


@dataclass(frozen=True, slots=True)
class CorpusPage:
    """One page of the corpus: its file stem, its URL and its HTML bytes."""

    name: str
    url: str
    body: bytes


@dataclass(frozen=True, slots=True)
class BenchPage:
    """One page to process: ``copy`` is 0 for the corpus page itself, n for its n-th repeat."""

    url: str
    body: bytes
    copy: int


def default_corpus() -> Path:
    return REPO.parent / "shared" / "corpus" / "scrapinghub-aeb" / "html"


def load_corpus(directory: Path) -> list[CorpusPage]:
    """Every ``*.html.gz`` (or ``*.html``) page under ``directory``, in name order.

    URLs come from ``ground-truth.json`` beside the directory when it has them, else a
    made-up URL under ``.invalid`` (never fetched: pages are submitted as HTML).
    """
    truth_file = directory.parent / "ground-truth.json"
    truth = json.loads(truth_file.read_text()) if truth_file.is_file() else {}
    pages = []
    for path in sorted([*directory.glob("*.html.gz"), *directory.glob("*.html")]):
        name = path.name.split(".", 1)[0]
        raw = path.read_bytes()
        body = gzip.decompress(raw) if path.suffix == ".gz" else raw
        url = (truth.get(name) or {}).get("url") or f"https://corpus.sluice.invalid/{name}"
        pages.append(CorpusPage(name, url, body))
    return pages


def _copy_url(url: str, copy: int) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&bench-copy={copy}" if parts.query else f"bench-copy={copy}"
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _alter(word: str) -> str:
    """``word`` with its first look-alike letter swapped (as a character reference), else
    with its first two letters the other way round."""
    if len(word) == 2:  # a character pair of a script without spaces
        return word[::-1]
    for index, letter in enumerate(word):
        if letter in _LOOK_ALIKES:
            return f"{word[:index]}&#{ord(_LOOK_ALIKES[letter])};{word[index + 1 :]}"
    if word[0] != word[1]:
        return word[1] + word[0] + word[2:]
    return word + word[-1]


def vary(body: bytes, copy: int) -> bytes:
    """``body`` with about a third of the words of its text altered; the words are drawn
    from ``copy``, so every copy number gives another page."""
    try:
        text, encoding, words = body.decode("utf-8"), "utf-8", _WORD
    except UnicodeDecodeError:
        text, encoding, words = body.decode("latin-1"), "latin-1", _ASCII_WORD
    chooser = random.Random(copy)

    def change(match: re.Match[str]) -> str:
        word = match.group(0)
        return _alter(word) if chooser.random() < _SHARE else word

    pieces = _UNTOUCHED.split(text)
    # split() with one group alternates text (even places) and markup (odd places).
    varied = "".join(
        words.sub(change, piece) if n % 2 == 0 else piece for n, piece in enumerate(pieces)
    )
    return varied.encode(encoding)


def build_pages(corpus: list[CorpusPage], count: int) -> list[BenchPage]:
    """``count`` pages: the corpus in order, then varied repeats of it."""
    if not corpus:
        raise ValueError("the corpus has no pages")
    pages = []
    for n in range(count):
        source, copy = corpus[n % len(corpus)], n // len(corpus)
        if copy == 0:
            pages.append(BenchPage(source.url, source.body, 0))
        else:
            pages.append(BenchPage(_copy_url(source.url, copy), vary(source.body, copy), copy))
    return pages
