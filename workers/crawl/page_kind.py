"""Telling hubs from articles: a crawl stores an article and only follows a hub.

A hub (front page, section, tag, collection or pagination page) lists other pages; an
article is one text. :func:`page_kind` reads a page's signals (:mod:`.page_signals`) and its
URL's shape (:mod:`.url_shape`) and weighs them with a logistic model: each signal's weight
times its distance from the typical page, summed. The weights were fitted on one half of a
corpus of 900 labelled pages and checked on the other (``python -m benchmarks.page_kinds``,
which also refits them with ``--fit``). ``why`` names the signals that weighed most for the
decision, so a surprising call can be read in ``status``.

It costs one lxml parse of the page: trafilatura's main-text length was measured as a
signal and added nothing on pages it had not seen, at three to four times the cost.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sluice.workers.crawl.page_signals import PageSignals, read_page_signals
from sluice.workers.crawl.url_shape import url_looks_like_article, url_looks_like_hub

__all__ = ["ARTICLE", "HUB", "PageKind", "features", "page_kind", "url_looks_like_article"]

ARTICLE = "article"
HUB = "hub"


@dataclass(frozen=True, slots=True)
class PageKind:
    """``kind`` is ``"article"`` or ``"hub"``; ``why`` is a short human reason."""

    kind: str
    why: str


@dataclass(frozen=True, slots=True)
class _Signal:
    """One input of the model: how it is read from a page, and how it is said in a reason
    (a yes-or-no signal that is absent is said with "no": "no og:type article")."""

    read: Callable[[PageSignals, str], float]
    say: Callable[[PageSignals, str], str]

    def reason(self, signals: PageSignals, url: str, value: float) -> str:
        said = self.say(signals, url)
        return f"no {said}" if isinstance(self.read(signals, url), bool) and not value else said


def _log_k(value: int) -> float:
    return math.log1p(value / 1000)


_SIGNALS: dict[str, _Signal] = {
    "og_article": _Signal(lambda s, u: s.og_type == "article", lambda s, u: "og:type article"),
    "og_product": _Signal(
        lambda s, u: s.og_type.startswith("product"), lambda s, u: f"og:type {s.og_type}"
    ),
    "ld_article": _Signal(lambda s, u: s.ld_article, lambda s, u: "JSON-LD article"),
    "ld_list": _Signal(lambda s, u: s.ld_list, lambda s, u: "JSON-LD collection or list"),
    "published": _Signal(lambda s, u: s.published, lambda s, u: "publication date"),
    "prose": _Signal(lambda s, u: _log_k(s.prose), lambda s, u: f"{s.prose} characters of prose"),
    "longest_paragraph": _Signal(
        lambda s, u: math.log1p(s.longest_paragraph / 100),
        lambda s, u: f"longest paragraph {s.longest_paragraph} characters",
    ),
    "link_density": _Signal(
        lambda s, u: s.link_density, lambda s, u: f"link density {s.link_density:.2f}"
    ),
    "teasers": _Signal(lambda s, u: math.log1p(s.teasers), lambda s, u: f"{s.teasers} teasers"),
    "article_links": _Signal(
        lambda s, u: math.log1p(s.article_links),
        lambda s, u: f"{s.article_links} links to article-shaped URLs",
    ),
    "paginated": _Signal(lambda s, u: s.paginated, lambda s, u: "rel=next/prev pagination"),
    "url_article": _Signal(
        lambda s, u: url_looks_like_article(u), lambda s, u: "article-shaped URL"
    ),
    "url_hub": _Signal(lambda s, u: url_looks_like_hub(u), lambda s, u: "listing URL"),
}
# Each signal's mean on the fitting pages and its weight: a signal pulls towards "article"
# by weight x (value - mean). Printed by `python -m benchmarks.page_kinds --fit`, which fits
# them on the dev half of wcxb-dev.
_BIAS = 2.81
_WEIGHTS: dict[str, tuple[float, float]] = {
    "og_article": (0.59, 1.56),
    "og_product": (0.01, -1.75),
    "ld_article": (0.32, 0.81),
    "ld_list": (0.04, -2.00),
    "published": (0.34, 1.04),
    "prose": (1.68, 0.97),
    "longest_paragraph": (1.62, 0.85),
    "link_density": (0.24, -1.36),
    "teasers": (2.85, -0.21),
    "article_links": (2.74, -0.36),
    "paginated": (0.08, -1.00),
    "url_article": (0.74, 1.88),
    "url_hub": (0.12, -1.98),
}
_REASONS = 2  # signals named in ``why``


def features(signals: PageSignals, url: str) -> dict[str, float]:
    """The model's inputs for a page, by name."""
    return {name: float(signal.read(signals, url)) for name, signal in _SIGNALS.items()}


def _decide(signals: PageSignals, url: str) -> PageKind:
    values = features(signals, url)
    pulls = {name: weight * (values[name] - mean) for name, (mean, weight) in _WEIGHTS.items()}
    score = _BIAS + sum(pulls.values())
    kind = ARTICLE if score > 0 else HUB
    # The signals that pulled hardest towards the decision.
    toward = sorted(
        (name for name, pull in pulls.items() if (pull > 0) == (kind == ARTICLE) and pull),
        key=lambda name: -abs(pulls[name]),
    )
    reasons = [_SIGNALS[name].reason(signals, url, values[name]) for name in toward[:_REASONS]]
    return PageKind(kind, ", ".join(reasons) or "nothing marks it as an article")


def page_kind(html: str, url: str) -> PageKind:
    """Whether ``html``, fetched from ``url``, is an article (store it) or a hub (follow its
    links only), and why."""
    return _decide(read_page_signals(html, url), url)
