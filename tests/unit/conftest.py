"""Unit-test helpers: canned inputs shared by several test modules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from importlib import resources

import pytest

from sluice.shared.settings import Settings
from sluice.workers.fetching.client import Fetcher

SAMPLES = ("belgorod-euro-canals.html", "belgorod-lowland-ledger.html")


def sample_page(name: str) -> bytes:
    """The bytes of a bundled sample page (``shared/samples/<name>``)."""
    return resources.files("sluice.shared").joinpath("samples", name).read_bytes()


@pytest.fixture
def prefix() -> str:
    """A URL path prefix unique to this test, so routes on the shared web server never clash."""
    return f"/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    """A guarded fetcher allowed onto the loopback test web server, with short timeouts."""
    settings = Settings(
        fetch_connect_timeout=2.0, fetch_read_timeout=2.0, fetch_allow_networks="127.0.0.0/8"
    )
    fetcher = Fetcher(settings)
    yield fetcher
    fetcher.close()
