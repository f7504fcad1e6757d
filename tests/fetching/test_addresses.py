"""No way into private networks: the address policy, and the guarded transport on real sockets."""

from __future__ import annotations

import pytest

from sluice.shared.errors import PermanentError
from sluice.workers.fetching.addresses import AddressPolicy, parse_networks
from tests.fetching.conftest import MakeFetcher, MakeServer
from tests.support.web import Response, WebServer

HTML = b"<html><body><p>harbour</p></body></html>"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.0.9",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # CGNAT
        "0.0.0.0",
        "224.0.0.1",  # multicast, which Python 3.11 calls global
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.0.8",
        "198.18.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "::ffff:8.8.8.8",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378::1",  # Teredo
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "2001:db8::1",
    ],
)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert not AddressPolicy().permits(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "2606:4700::1111"])
def test_global_addresses_are_permitted(address: str) -> None:
    assert AddressPolicy().permits(address)


def test_allowed_networks_open_exactly_their_range() -> None:
    policy = AddressPolicy(parse_networks(" 127.0.0.2/32, 10.9.0.0/16 ,"))
    assert policy.permits("127.0.0.2")
    assert policy.permits("10.9.200.1")
    assert not policy.permits("127.0.0.1")
    assert not policy.permits("10.8.0.1")
    with pytest.raises(ValueError):
        parse_networks("not-a-network")


def test_one_refused_address_refuses_the_name() -> None:
    with pytest.raises(PermanentError) as info:
        AddressPolicy().vet("mixed.example", ["8.8.8.8", "10.0.0.1"])
    assert info.value.reason == "blocked_address"


def _expect_blocked(fetcher, url: str, reason: str = "blocked_address") -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermanentError) as info:
        fetcher.get(url)
    assert info.value.reason == reason


def test_allowed_address_is_fetched_and_loopback_is_not(
    web: WebServer, make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    allowed = make_server("127.0.0.2")
    url = allowed.route(f"{prefix}/a.html", Response(body=HTML))
    private = web.route(f"{prefix}/secret", Response(body=b"<p>secret</p>"))  # on 127.0.0.1
    fetcher = make_fetcher()

    assert fetcher.get(url).body == HTML
    _expect_blocked(fetcher, private)
    assert f"{prefix}/secret" not in web.hits


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ("http://localhost:{port}/x", "blocked_address"),
        # Numeric hosts other than a dotted quad are refused before any lookup.
        ("http://2130706433:{port}/x", "invalid_url"),  # 127.0.0.1 as one decimal number
        ("http://0x7f.1:{port}/x", "invalid_url"),
        ("http://0177.0.0.1:{port}/x", "invalid_url"),
        ("http://[::1]:{port}/x", "blocked_address"),
        ("http://[::ffff:127.0.0.1]:{port}/x", "blocked_address"),
        ("http://0.0.0.0:{port}/x", "blocked_address"),
    ],
)
def test_loopback_in_disguise_is_refused(
    web: WebServer, make_fetcher: MakeFetcher, spelling: str, reason: str
) -> None:
    port = web.base_url.rsplit(":", 1)[1]
    before = len(web.hits)
    _expect_blocked(make_fetcher(), spelling.format(port=port), reason)
    assert len(web.hits) == before


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:{port}/secret"]
)
def test_redirect_into_a_private_address_is_refused(
    web: WebServer,
    make_server: MakeServer,
    make_fetcher: MakeFetcher,
    prefix: str,
    target: str,
) -> None:
    port = web.base_url.rsplit(":", 1)[1]
    web.route("/secret", Response(body=b"<p>secret</p>"))
    public = make_server("127.0.0.2")
    url = public.route(
        f"{prefix}/r", Response(302, b"", headers={"Location": target.format(port=port)})
    )
    _expect_blocked(make_fetcher(), url)
    assert f"{prefix}/r" in public.hits
    assert "/secret" not in web.hits


def test_the_checked_address_is_the_one_connected_to(
    web: WebServer, make_server: MakeServer, make_fetcher: MakeFetcher, prefix: str
) -> None:
    """DNS rebinding: the name is looked up once per connection, and that answer is used."""
    good = make_server("127.0.0.2")
    seen_hosts: list[str | None] = []

    def record(handler) -> Response:  # type: ignore[no-untyped-def]
        seen_hosts.append(handler.headers.get("Host"))
        return Response(body=HTML)

    port = good.base_url.rsplit(":", 1)[1]
    good.route(f"{prefix}/page", record)
    web.route(f"{prefix}/page", Response(body=b"<p>private</p>"))
    answers = iter([["127.0.0.2"], ["127.0.0.1"], ["127.0.0.1"]])
    lookups: list[str] = []

    def rebinding_resolver(host: str, _port: int) -> list[str]:
        lookups.append(host)
        return next(answers)

    fetcher = make_fetcher(resolver=rebinding_resolver)
    page = fetcher.get(f"http://news.rebind.test:{port}{prefix}/page")

    assert page.body == HTML
    assert lookups == ["news.rebind.test"]  # one lookup; the connection used its answer
    assert seen_hosts == [f"news.rebind.test:{port}"]  # the Host header keeps the name
    assert f"{prefix}/page" not in web.hits
    # A new connection asks again, and the new (private) answer is refused.
    fetcher.client.close()
    fetcher2 = make_fetcher(resolver=rebinding_resolver)
    _expect_blocked(fetcher2, f"http://news.rebind.test:{port}{prefix}/page")
    assert f"{prefix}/page" not in web.hits


def test_environment_proxies_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
    make_server: MakeServer,
    make_fetcher: MakeFetcher,
    prefix: str,
) -> None:
    """A proxy would resolve names itself, out of the guard's sight."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    server = make_server("127.0.0.2")
    url = server.route(f"{prefix}/a.html", Response(body=HTML))
    assert make_fetcher().get(url).body == HTML


@pytest.mark.parametrize("url", ["ftp://127.0.0.2/a", "file:///etc/passwd", "gopher://x/"])
def test_only_http_and_https(make_fetcher: MakeFetcher, url: str) -> None:
    with pytest.raises(PermanentError) as info:
        make_fetcher().get(url)
    assert info.value.reason == "unsupported_scheme"
