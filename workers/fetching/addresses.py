"""Keeping the fetcher out of private networks (SSRF): which addresses may be connected to,
and an httpx transport that connects only to addresses it has checked.

A URL's host is resolved once, inside the connection step; every address it resolves to is
checked, and the connection goes to one of those checked addresses, never to a name that
could resolve differently a moment later (DNS rebinding). Host header and TLS SNI still
carry the name. Each redirect hop opens its own connection, so each hop is checked.

Refused unless an allowed network (``SLUICE_FETCH_ALLOW_NETWORKS``) contains them:
loopback, private, link-local (169.254.0.0/16, cloud metadata), CGNAT (100.64.0.0/10),
multicast, unspecified, reserved and documentation ranges, IPv4-mapped IPv6 and the IPv6
ranges that embed IPv4 addresses (NAT64, 6to4, Teredo), and anything else not global.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import httpcore
import httpx

from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.reasons import Reason

__all__ = [
    "AddressPolicy",
    "GuardedBackend",
    "Resolver",
    "deadline_scope",
    "guarded_transport",
    "parse_networks",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

# Special-purpose ranges refused outright, besides whatever ``is_global`` rejects (Python's
# own table misses some, e.g. multicast and parts of 192.0.0.0/24 count as global in 3.11).
_BLOCKED = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)

# At most this many of a name's addresses are tried, so a name with hundreds of records
# cannot multiply the connect timeout.
_MAX_ADDRESSES_TRIED = 4


def parse_networks(value: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, 10.1.0.0/16"`` as networks; raises ``ValueError`` on a bad entry."""
    entries = value.split(",") if isinstance(value, str) else value
    return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())


class AddressPolicy:
    """Decides whether an IP address may be connected to."""

    def __init__(self, allow: Sequence[IPNetwork] = ()) -> None:
        self.allow = tuple(allow)

    @classmethod
    def from_setting(cls, value: str) -> AddressPolicy:
        return cls(parse_networks(value))

    def permits(self, address: str | IPAddress) -> bool:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
        if any(ip.version == net.version and ip in net for net in self.allow):
            return True
        if isinstance(ip, ipaddress.IPv6Address) and (
            ip.ipv4_mapped or ip.sixtofour or ip.teredo or ip.scope_id
        ):
            return False
        if ip.is_multicast or ip.is_unspecified or ip.is_reserved or ip.is_loopback:
            return False
        if any(ip.version == net.version and ip in net for net in _BLOCKED):
            return False
        return ip.is_global

    def vet(self, host: str, addresses: Sequence[str]) -> list[str]:
        """``addresses`` if every one is permitted, else :class:`PermanentError`.

        One refused address refuses the name: a resolver answer that mixes a public and a
        private address is how rebinding attacks get in.
        """
        if not addresses:
            raise PermanentError(Reason.DNS_ERROR, f"{host} has no address")
        refused = [a for a in addresses if not self.permits(a)]
        if refused:
            raise PermanentError(Reason.BLOCKED_ADDRESS, f"{host} resolves to {refused[0]}")
        return list(addresses)


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (one DNS lookup), IPv4 and IPv6, in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# The deadline of the fetch running on this thread (monotonic seconds), if any. Reads on a
# guarded stream never wait past it, so a server dripping its headers a byte at a time
# cannot hold a worker slot beyond the total fetch time.
_deadline = threading.local()


@contextlib.contextmanager
def deadline_scope(deadline: float) -> Iterator[None]:
    """Within the block, socket reads on this thread end by ``deadline`` (monotonic time)."""
    previous = getattr(_deadline, "value", None)
    _deadline.value = deadline
    try:
        yield
    finally:
        _deadline.value = previous


def _bounded(timeout: float | None) -> float | None:
    deadline: float | None = getattr(_deadline, "value", None)
    if deadline is None:
        return timeout
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise httpcore.ReadTimeout("total fetch time exceeded")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes respect the thread's fetch deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore network backend that resolves, vets, and connects to the vetted address.

    The name given by httpcore (the URL's host) is resolved once with ``resolver``; the
    socket is opened to the IP address itself, so nothing resolves the name a second time.
    """

    def __init__(self, policy: AddressPolicy, resolver: Resolver = system_resolver) -> None:
        self.policy = policy
        self.resolver = resolver
        self._plain = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        name = host.strip("[]")
        try:
            addresses = self.resolver(name, port)
        except (OSError, UnicodeError) as exc:
            raise RetryableError(Reason.DNS_ERROR, f"cannot resolve {name}: {exc}") from exc
        vetted = self.policy.vet(name, addresses)
        last_error: Exception | None = None
        for address in vetted[:_MAX_ADDRESSES_TRIED]:
            try:
                stream = self._plain.connect_tcp(
                    address, port, _bounded(timeout), local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
                continue
            return _DeadlineStream(stream)
        assert last_error is not None
        raise last_error

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise PermanentError(Reason.BLOCKED_ADDRESS, "unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def guarded_transport(
    policy: AddressPolicy,
    *,
    resolver: Resolver = system_resolver,
    max_connections: int = 100,
) -> httpx.HTTPTransport:
    """An httpx transport that never connects to an address ``policy`` refuses.

    Proxies from the environment are ignored (``trust_env=False``): a proxy would resolve
    the name itself, out of the guard's sight.
    """
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections // 2
    )
    transport = httpx.HTTPTransport(trust_env=False, limits=limits)
    # httpx has no parameter for the network backend, so its connection pool is rebuilt
    # with the same settings plus ours. Covered by tests/fetching/test_addresses.py.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(policy, resolver),
    )
    return transport
