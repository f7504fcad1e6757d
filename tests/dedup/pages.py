"""HTML pages around a text, in two site layouts, for the worker tests."""

from __future__ import annotations

import html

__all__ = ["LAYOUTS", "page"]

_LEDGER = """<!doctype html><html><head><meta charset="utf-8">
<title>{title} | Harbour Ledger</title></head><body><header><a href="/">Harbour Ledger</a>
<nav><a href="/world">World</a>
<a href="/sport">Sport</a><a href="/subscribe">Subscribe</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By the Ledger desk</p>
{paragraphs}</article>
<aside><h2>Most read</h2><ul><li><a href="/a">Tide tables for the week</a></li>
<li><a href="/b">Ferry timetable changes</a></li></ul></aside></main>
<footer><p>Copyright Harbour Ledger Media. All rights reserved.</p></footer></body></html>"""

_WIRE = """<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:site_name" content="Wire Digest"></head><body>
<div class="top"><span>Wire Digest</span> <a href="/login">Sign in</a></div>
<div class="layout"><div class="post"><h1 class="post-title">{title}</h1>
<div class="post-body">{paragraphs}</div>
<div class="share">Share this story</div></div>
<div class="sidebar"><p>Related: markets close higher</p></div></div>
<div class="foot">Wire Digest · Terms · Privacy</div></body></html>"""

LAYOUTS = {"ledger": _LEDGER, "wire": _WIRE}


def page(text: str, layout: str, title: str = "A story") -> bytes:
    """``text`` (paragraphs separated by blank lines) as an article page in ``layout``."""
    paragraphs = "\n".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return LAYOUTS[layout].format(title=html.escape(title), paragraphs=paragraphs).encode()
