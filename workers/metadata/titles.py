"""The headline: the page's ``<h1>`` when the page's metadata agrees with it, else its
metadata title, without the site's name.

Site names come from the page itself (``og:site_name``, ``application-name``, the JSON-LD
publisher or WebSite) and from its host name: ``"Headline | Site"``, ``"Headline - Site"``,
``"Site | Headline"`` and ``"site.example Headline"`` lose the ``Site`` part, matched on whole
words; a title that *is* only a site name (give or take one word) is no headline. A heading
loses a day written before it; a sentence (ending in a full stop) is a summary and a title
ending in an ellipsis is cut off: either is taken only when nothing reads as a headline.
Where the one heading and the metadata title disagree, the page's address settles it: its
last path segment (the slug) was most often made from the headline the page had first.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from urllib.parse import urlsplit

from sluice.workers.metadata.dates import WRITTEN_DAY

__all__ = [
    "choose_headline",
    "is_site_name",
    "site_keys",
    "strip_site_name",
    "url_slug",
    "words",
]

# " | ", " - ", " – ", " — ", " • ", " · ", " » ", " :: ", " ~ ", " / ", and a bare "|".
_SEPARATOR = re.compile(r"\s+(?:[|\-–—•·»«~/]|::)\s+|\s*\|\s*")
_WORD = re.compile(r"[^\W_]+")
_FILLERS = {"and", "the", "www", "com"}
# A heading agrees with the metadata title when their words overlap this much (token F1).
_AGREEMENT = 0.5
_MAX_HEADLINE = 300
# Words of a page's only heading that make it a headline, not a section's label.
_HEADLINE_WORDS = 7
# A slug of this many words or more takes sides, when it shares clearly more words (token
# F1 this much higher) with one of the heading and the metadata title than with the other.
_SLUG_WORDS = 2
_SLUG_MARGIN = 0.2
# A file's extension at the end of a path: "/2025/harbour-plan.html".
_EXTENSION = re.compile(r"\.[a-z0-9]{2,5}$", re.I)
# A byline run into a heading: "Headline Posted on July 1, 2024 by Jane".
_BYLINE = re.compile(r"\s+(?:posted|published|updated|written)\s+(?:on|by|at)\b.*$", re.I)
# A host name before the headline, with no separator: "example.com Headline".
_HOST_LEAD = re.compile(r"\s*((?:[\w-]+\.)+[a-z]{2,})\s+(?=\w)", re.I)
# A day written before a heading: "Dec 18 2025 Headline", "2025-12-18 – Headline".
_DATE_LEAD = re.compile(rf"^\s*(?:{WRITTEN_DAY.pattern})\s*[-–—|:·•]?\s+(?=\w)", re.I)
# A full stop ends a sentence (a summary), not a headline; an ellipsis, a cut-off title.
_NOT_HEADLINE = re.compile(r"(?:\s|[a-z]{3})\.$|(?:…|\.\.\.)$")


def words(text: str | None) -> list[str]:
    """Case-folded runs of letters and digits."""
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").casefold())


def _compact(text: str) -> str:
    return "".join(w for w in words(text) if w not in _FILLERS)


def site_keys(site_names: Iterable[str], url: str | None) -> set[str]:
    """Compact forms of the site's names and of its host's labels (``www`` and the
    top-level domain left out)."""
    keys = {_compact(name) for name in site_names}
    host = (urlsplit(url).hostname or "") if url else ""
    labels = [label for label in host.split(".") if label and label != "www"]
    if len(labels) >= 2:
        keys.add(_compact(".".join(labels)))
        keys.update(_compact(label) for label in labels[:-1])
    return {key for key in keys if len(key) >= 3}


def url_slug(url: str | None) -> list[str]:
    """The words of the last segment of ``url``'s path, without a file's extension:
    ``["harbour", "plan", "approved"]`` of ``https://example.com/news/harbour-plan-approved/``."""
    path = urlsplit(url).path if url else ""
    segments = [segment for segment in path.split("/") if segment]
    return words(_EXTENSION.sub("", segments[-1])) if segments else []


def is_site_name(segment: str, keys: set[str]) -> bool:
    """``segment`` names the site: it is one of ``keys``; or (at most five words) some of its
    whole words make a host-long key, or it starts one (``"Houstonia"`` of
    ``"Houstonia Magazine"``)."""
    compact = _compact(segment)
    if not compact:
        return False
    if compact in keys:
        return True
    kept = [w for w in words(segment) if w not in _FILLERS]
    if len(kept) > 5:
        return False
    runs = {"".join(kept[i:j]) for i in range(len(kept)) for j in range(i + 1, len(kept) + 1)}
    return any(
        (len(key) >= 5 and key in runs) or (len(compact) >= 6 and key.startswith(compact))
        for key in keys
    )


def _only_site_name(title: str, keys: set[str]) -> bool:
    """A whole title that is the site's name, with one more word at most ("Houstonia
    Magazine"): "Gardenary Planting vs. Ordinary Planting" is a headline."""
    if not is_site_name(title, keys):
        return False
    kept = [w for w in words(title) if w not in _FILLERS and len(w) > 1]
    covered: set[int] = set()
    for i in range(len(kept)):
        for j in range(i + 1, len(kept) + 1):
            if "".join(kept[i:j]) in keys:
                covered.update(range(i, j))
    return len(kept) - len(covered) <= 1


def strip_site_name(title: str, keys: set[str]) -> str:
    """``title`` without leading or trailing segments that name the site, and without a
    leading host name (``"example.com Headline"``)."""
    lead = _HOST_LEAD.match(title)
    if lead and _compact(lead[1]) in keys and title[lead.end() :].strip():
        title = title[lead.end() :]
    parts = _SEPARATOR.split(title.strip())
    while len(parts) > 1 and is_site_name(parts[-1], keys):
        parts.pop()
    while len(parts) > 1 and is_site_name(parts[0], keys):
        parts.pop(0)
    if len(parts) == 1 and _only_site_name(parts[0], keys):
        return ""
    # Keep the headline's own separators: cut the original at the kept parts' ends.
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end].strip() if 0 <= start < end else " ".join(parts)


def _f1(a: Sequence[str], b: Sequence[str]) -> float:
    common = sum((Counter(a) & Counter(b)).values())
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def _slug_side(slug: Sequence[str], heading: str, title: str) -> str | None:
    """Of a ``heading`` and a metadata ``title`` that disagree, the one whose words the URL's
    ``slug`` shares clearly more of; ``None`` when the slug is one word or takes no side.

    A slug is written once, most often from the headline the page was first given: where the
    page's heading and its search-engine title say different things, the one it still
    matches is the page's headline (a hero banner's label or a section heading does not
    match it; a search-engine title rewritten for the slug's words does)."""
    if len(slug) < _SLUG_WORDS:
        return None
    for_heading, for_title = _f1(slug, words(heading)), _f1(slug, words(title))
    if for_heading >= for_title + _SLUG_MARGIN:
        return heading
    if for_title >= for_heading + _SLUG_MARGIN:
        return title
    return None


def _clean_heading(heading: str, keys: set[str]) -> str:
    """``heading`` without a byline run into it, a day before it and the site's name."""
    return strip_site_name(_DATE_LEAD.sub("", _BYLINE.sub("", heading)), keys)


def choose_headline(
    headings: Sequence[str],
    titles: Sequence[str | None],
    keys: set[str],
    slug: Sequence[str] = (),
    stacked: Collection[str] = (),
) -> str | None:
    """The headline among the page's ``<h1>`` ``headings`` and its metadata ``titles`` (in
    order of trust: ``og:title``, ``twitter:title``, JSON-LD headline, ``<title>``, the
    extractor's), each without the site's name (and a heading without a byline run into it
    or a day before it), sentences and cut-off titles set aside while there is a headline.

    The heading that agrees best with a metadata title wins (what the reader sees), unless
    it is one of the ``stacked`` headings, set in lines (a kicker above the headline, a
    subtitle below it): run together, those were never written as one title, and the
    metadata title it agrees with is the headline as written. With no agreeing heading, of
    the page's only heading and the first metadata title the one the URL's ``slug``
    (:func:`url_slug`) sides with; else the only heading when it has seven words or more
    (a headline, not a section's label), else the first metadata title; with no metadata
    title, the only heading.
    """
    meta = [t for t in (strip_site_name(t, keys) for t in titles if t) if t]
    meta = [t for t in meta if len(t) <= _MAX_HEADLINE]
    cleaned = {h: _clean_heading(h, keys) for h in dict.fromkeys(headings)}
    heads = [c for c in (cleaned[h] for h in headings) if c and len(c) <= _MAX_HEADLINE]
    in_lines = {cleaned[h] for h in stacked if h in cleaned}
    if any(not _NOT_HEADLINE.search(t) for t in (*meta, *heads)):
        meta = [t for t in meta if not _NOT_HEADLINE.search(t)]
        heads = [h for h in heads if not _NOT_HEADLINE.search(h)]
    best, best_title, best_score = None, None, 0.0
    for head in heads:
        for title in meta:
            score = _f1(words(head), words(title))
            if score > best_score:
                best, best_title, best_score = head, title, score
    if best is not None and best_score >= _AGREEMENT:
        return best_title if best in in_lines else best
    if len(heads) == 1 and meta and (side := _slug_side(slug, heads[0], meta[0])):
        return side
    if len(heads) == 1 and len(words(heads[0])) >= _HEADLINE_WORDS:
        # The page's only heading, long enough to be a headline and not a section's label
        # ("Blog", "VPN Services"): what the reader sees beats the search-engine title.
        return heads[0]
    if meta:
        return meta[0]
    return heads[0] if len(heads) == 1 else None
