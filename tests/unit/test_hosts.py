"""One host per URL (shared.hosts.host_of): the edge cases every per-host key depends on."""

from __future__ import annotations

import pytest

from sluice.producers.filters import RecordFilter
from sluice.shared.hosts import host_of
from sluice.shared.reasons import Reason


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://example.com/a", "example.com"),
        ("HTTP://Example.COM/Path", "example.com"),
        ("http://example.com:8080/a", "example.com"),
        ("http://user:secret@example.com:8443/", "example.com"),
        ("http://user@Example.com./", "example.com"),
        ("http://example.com./a", "example.com"),
        ("//example.com/scheme-relative", "example.com"),
        ("http://127.0.0.2:8000/", "127.0.0.2"),
        ("http://[::1]:8080/a", "::1"),
        ("http://[2001:DB8::1]/", "2001:db8::1"),
        ("http://bücher.example/", "xn--bcher-kva.example"),
        ("http://BÜCHER.example./", "xn--bcher-kva.example"),
        ("http://xn--bcher-kva.example/", "xn--bcher-kva.example"),
        ("http://例え.テスト/", "xn--r8jz45g.xn--zckzah"),
        ("http://example.com:notaport/", "example.com"),
    ],
)
def test_the_host_of_a_url(url: str, host: str) -> None:
    assert host_of(url) == host


@pytest.mark.parametrize(
    "url", [None, "", "not a url", "/relative/path", "http://[::1/", "mailto:"]
)
def test_no_host_is_the_empty_string(url: str | None) -> None:
    assert host_of(url) == ""


def test_a_unicode_name_idna_cannot_encode_is_kept_as_written() -> None:
    label = "ü" * 70  # longer than a DNS label may be
    assert host_of(f"http://{label}.example/") == f"{label}.example"


def test_one_host_whatever_the_spelling() -> None:
    spellings = [
        "http://Bücher.Example/a",
        "https://user@bücher.example.:443/b",
        "http://xn--bcher-kva.example:8080/c",
    ]
    assert len({host_of(url) for url in spellings}) == 1


def test_a_domain_filter_spells_its_domains_as_hosts_are_spelled() -> None:
    door = RecordFilter.from_options(["Bücher.Example.", " a.test "])
    assert door.domains == ("xn--bcher-kva.example", "a.test")
    assert door.url_reason("http://news.bücher.example/x") is None
    assert door.url_reason("http://xn--bcher-kva.example./y") is None
    assert door.url_reason("http://b.test/z") is Reason.FILTERED_DOMAIN
