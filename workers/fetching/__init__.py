"""Fetching at crawl scale: the guarded HTTP client and what makes it polite.

One module per job: ``client`` (one request within limits), ``decoding`` (bounded
decompression), ``addresses`` (no way into private networks), ``politeness`` (the per-host
budget in Redis), ``robots`` (robots.txt), ``validators`` (ETag/Last-Modified),
``redirects`` (redirect progress) and ``crawler`` (one polite step, using all of them).
"""
