"""Unit-test helpers: canned inputs shared by several test modules."""

from __future__ import annotations

import uuid
from importlib import resources

import pytest

SAMPLES = ("belgorod-euro-canals.html", "belgorod-lowland-ledger.html")


def sample_page(name: str) -> bytes:
    """The bytes of a bundled sample page (``shared/samples/<name>``)."""
    return resources.files("sluice.shared").joinpath("samples", name).read_bytes()


@pytest.fixture
def prefix() -> str:
    """A URL path prefix unique to this test, so routes on the shared web server never clash."""
    return f"/{uuid.uuid4().hex[:10]}"
