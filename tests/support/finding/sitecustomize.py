"""Test-only: a worker started with this folder on ``PYTHONPATH`` and
``SLUICE_TEST_FOUND_URLS`` set has an extract stage that finds work.

On every page whose path has a ``/finds/`` segment, extract's outcome carries the URLs of
``SLUICE_TEST_FOUND_URLS`` (space-separated, relative to the page) as found work, at
priority 5. Everything else, the runner, the frontier, the fetch and the store, is the real
product (``tests/integration/test_found_work.py``).
"""

from __future__ import annotations

import os
from urllib.parse import urljoin, urlsplit

if os.environ.get("SLUICE_TEST_FOUND_URLS"):
    from sluice.shared.article import Article
    from sluice.shared.outcomes import Forward, NewUrl, Outcome
    from sluice.workers.stages import extract

    _extract = extract.run
    _found = os.environ["SLUICE_TEST_FOUND_URLS"].split()

    def _run_finding(article: Article) -> Outcome:
        outcome = _extract(article)
        page = article.url or ""
        if not isinstance(outcome, Forward) or "/finds/" not in urlsplit(page).path:
            return outcome
        found = tuple(NewUrl.found_in(article, urljoin(page, url), 5) for url in _found)
        return Forward(outcome.to, found=found)

    extract.run = _run_finding
