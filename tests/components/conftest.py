"""Component tests: stage functions and the libraries under them (fetcher, dedup index,
store, runner) against a real Redis and real stores, with no worker processes."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def prefix() -> str:
    """A URL path prefix unique to this test, so routes on the shared web server never clash."""
    return f"/{uuid.uuid4().hex[:10]}"
