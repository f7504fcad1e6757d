"""No host can starve the others: 2,000 hosts that accept connections and never answer,
then five pages on a healthy host, stored within 30 s at the default settings; and hostile
hosts (silent, slow, dripping, refusing, hanging up, resetting, asking for a day between
requests or a Retry-After of a day, flapping), each ending in its reason or showing why it
waits, with the workers up and a good page stored after them.

One cluster serves every case: ``sluice worker`` at the default settings (loopback allowed,
as the servers are there), on a store of its own.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import redis

from sluice.shared.redis_state import KEY_PREFIX
from sluice.shared.settings import Settings
from sluice.workers.fetching.frontier import Frontier
from tests.integration.conftest import Store
from tests.support.cluster import Cluster, sqlite_cluster
from tests.support.pages import article_page
from tests.support.services import RedisProvider
from tests.support.silent import SilentHosts, loopback_addresses
from tests.support.web import Response, WebServer

pytestmark = pytest.mark.integration

SILENT = 2000
HEALTHY_WITHIN = 30.0
DEFAULTS = Settings()
FINAL = {"stored", "failed", "duplicate", "skipped", "unchanged"}


@pytest.fixture(scope="module")
def slow_cluster(
    redis_provider: RedisProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    with sqlite_cluster(
        redis_provider, tmp_path_factory.mktemp("slow-hosts"), [()], timeout=120
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def silent_hosts() -> Iterator[SilentHosts]:
    hosts = SilentHosts(loopback_addresses(SILENT, second=20))
    yield hosts
    hosts.close()


@pytest.fixture(scope="module")
def crowd(slow_cluster: Cluster, silent_hosts: SilentHosts, tmp_path_factory: Any) -> str:
    """The job of one URL on each of the 2,000 silent hosts, submitted once."""
    addresses = loopback_addresses(SILENT, second=20)
    urls = [silent_hosts.url(address, "/news/a.html") for address in addresses]
    return _submit(slow_cluster, urls, tmp_path_factory.mktemp("crowd") / "urls.txt")


def _submit(cluster: Cluster, urls: list[str], path: Path) -> str:
    path.write_text("\n".join(urls) + "\n")
    result = cluster.sluice("submit", "--file", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split()[0]


def _final(store: Store, job: str, count: int, timeout: float) -> list[dict[str, Any]]:
    """The job's items once all ``count`` are final (or as they are at ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        items = store.items(job)
        if sum(item["state"] in FINAL for item in items) >= count:
            return items
        if time.monotonic() > deadline:
            return items
        time.sleep(0.25)


def _waits(cluster: Cluster) -> dict[str, Any]:
    result = cluster.sluice("status", "--json", "--inspect-timeout", "0.5")
    assert result.returncode == 0, result.stderr
    waits: dict[str, Any] = json.loads(result.stdout)["frontier"]["waits"]
    return waits


def _until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.25)


def test_2000_silent_hosts_do_not_delay_a_healthy_host(
    slow_cluster: Cluster, crowd: str, tmp_path: Path
) -> None:
    healthy = WebServer("127.0.0.2")
    try:
        pages = [
            healthy.route(f"/h{n}.html", Response(body=article_page(f"healthy {n}")))
            for n in range(5)
        ]
        started = time.monotonic()
        job = _submit(slow_cluster, pages, tmp_path / "healthy.txt")
        items = _final(Store(slow_cluster.database_url), job, 5, timeout=180)
        took = time.monotonic() - started
    finally:
        healthy.close()
    print(f"\nhealthy host: 5 pages stored {took:.1f} s after submission, behind {SILENT} silent")
    assert [item["state"] for item in items] == ["stored"] * 5, (items, slow_cluster.logs())
    assert took <= HEALTHY_WITHIN
    # The silent hosts back off between their probes, and status says so.
    _until(lambda: _waits(slow_cluster)["hosts_by_reason"]["back-off"] > 100, 90, "back-off shown")


def test_hostile_hosts_end_in_their_reasons_and_a_good_page_follows(
    slow_cluster: Cluster, tmp_path: Path
) -> None:
    expected: dict[str, tuple[str, str]] = {}
    servers: list[WebServer] = []
    closers: list[Callable[[], None]] = []

    def server(address: str, robots: Response | None = None) -> WebServer:
        made = WebServer(address)
        made.route("/robots.txt", robots or Response(404, b"", content_type="text/plain"))
        servers.append(made)
        return made

    # Never answering: one of the silent hosts of the crowd's kind.
    lone = "127.0.4.1"
    never = SilentHosts([lone])
    closers.append(never.close)
    expected["never-answers"] = (never.url(lone, "/a.html"), "timeout")

    # Accepting and answering robots.txt, then silent on the page past the first-byte timeout.
    def silent_page(_: BaseHTTPRequestHandler) -> Response:
        time.sleep(DEFAULTS.fetch_first_byte_timeout + 3)
        return Response(body=article_page("too late"))

    expected["silent-after-robots"] = (server("127.0.3.1").route("/a.html", silent_page), "timeout")

    # A slow first byte within the timeout: stored.
    slow_body = article_page("slow first byte")

    def slow_first_byte(_: BaseHTTPRequestHandler) -> Response:
        time.sleep(4)
        return Response(body=slow_body)

    expected["slow-first-byte"] = (server("127.0.3.2").route("/a.html", slow_first_byte), "stored")

    # A body dripped in pieces, each gap under the read timeout, all within the total: stored.
    drip = article_page("dripped")

    def dripping(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(drip)))
        handler.end_headers()
        step = len(drip) // 8 + 1
        for start in range(0, len(drip), step):
            handler.wfile.write(drip[start : start + step])
            handler.wfile.flush()
            time.sleep(0.75)

    expected["drip-within-total"] = (server("127.0.3.3").route("/a.html", dripping), "stored")

    # Headers dripped for ever: the answer never begins within the first-byte timeout.
    def drip_headers(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        try:
            handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Drip: ")
            for _ in range(int(DEFAULTS.fetch_first_byte_timeout * 4)):
                handler.wfile.write(b"a")
                handler.wfile.flush()
                time.sleep(0.5)
        except OSError:
            pass

    expected["drip-headers"] = (server("127.0.3.4").route("/a.html", drip_headers), "timeout")

    # Connection refused: nothing listens there.
    with socket.socket() as probe:
        probe.bind(("127.0.3.5", 0))
        free_port = probe.getsockname()[1]
    expected["refused"] = (f"http://127.0.3.5:{free_port}/a.html", "connection_error")

    # Accepting, then hanging up at once without a word.
    rude = SilentHosts(["127.0.3.6"], hang_up=True)
    closers.append(rude.close)
    expected["hangs-up"] = (rude.url("127.0.3.6", "/a.html"), "connection_error")

    # Reset in the middle of the body.
    def reset(handler: BaseHTTPRequestHandler) -> None:
        handler.close_connection = True
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.write(b"<html><body><p>" + b"x" * 2000)
        handler.wfile.flush()
        handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.connection.close()

    expected["reset-mid-body"] = (server("127.0.3.7").route("/a.html", reset), "connection_error")

    # Crawl-delay of a day: capped; the second page waits, and status says why.
    polite = server("127.0.3.8", Response(body=b"User-agent: *\nCrawl-delay: 86400\n"))
    for n in range(2):
        expected[f"crawl-delay-{n}"] = (
            polite.route(f"/p{n}.html", Response(body=article_page(f"polite {n}"))),
            "stored",
        )

    # Flapping: silent at first, then answering once its back-off is over.
    flap_address = "127.0.3.9"
    flapper = SilentHosts([flap_address])
    flap_url = flapper.url(flap_address, "/a.html")
    expected["flapping"] = (flap_url, "stored")

    names = list(expected)
    store = Store(slow_cluster.database_url)
    client = redis.Redis.from_url(slow_cluster.redis_url)
    try:
        job = _submit(slow_cluster, [expected[n][0] for n in names], tmp_path / "hostile.txt")

        # Retry-After of a day, capped at the longest honoured: the host waits, visibly.
        busy = server("127.0.3.10")
        far = busy.route("/a.html", Response(503, b"", headers={"Retry-After": "86400"}))
        far_job = _submit(slow_cluster, [far], tmp_path / "far.txt")

        def seen(host: str, reason: str, timeout: float = 60) -> dict[str, Any]:
            """The row of ``host`` in status's longest waits, once it waits for ``reason``."""
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for row in _waits(slow_cluster)["longest"]:
                    if row["host"] == host and row["reason"] == reason:
                        return row
                time.sleep(0.25)
            raise AssertionError(f"{host} never shown waiting for {reason}")

        shown = seen("127.0.3.8", "crawl-delay")
        assert 0 < shown["seconds_left"] <= DEFAULTS.fetch_crawl_delay_max
        shown = seen("127.0.3.10", "retry-after")
        assert 0.8 * DEFAULTS.fetch_retry_after_max < shown["seconds_left"]
        assert shown["seconds_left"] <= DEFAULTS.fetch_retry_after_max

        # The flapping host failed once and backs off; then it comes back.
        polite_key = f"{KEY_PREFIX}polite:{flap_address}"
        _until(lambda: client.hget(polite_key, "fails") is not None, 60, "the flapper's failure")
        port = flapper.port
        flapper.close()
        back = WebServer(flap_address, port)
        servers.append(back)
        back.route("/robots.txt", Response(404, b"", content_type="text/plain"))
        back.route("/a.html", Response(body=article_page("flapping, back")))

        items = _final(store, job, len(names), timeout=300)
        outcome = {
            names[item["item_id"]]: item["reason"] if item["state"] == "failed" else item["state"]
            for item in items
        }
        assert outcome == {name: reason for name, (_, reason) in expected.items()}, (
            outcome,
            slow_cluster.logs(),
        )
        flapped = next(i for i in items if names[i["item_id"]] == "flapping")
        assert flapped["state"] == "stored"
        assert client.hexists(polite_key, "ok") and not client.hexists(polite_key, "fails")

        # Retry-After's item is not lost: it waits in the frontier for its turn.
        (far_item,) = store.items(far_job)
        assert far_item["state"] not in FINAL
        assert Frontier(client).holds(f"{far_job}:0")

        # The workers are up, and a good page on a healthy host is stored after all that.
        slow_cluster.check_alive()
        good = server("127.0.3.11").route("/good.html", Response(body=article_page("good")))
        good_job = _submit(slow_cluster, [good], tmp_path / "good.txt")
        (good_item,) = _final(store, good_job, 1, timeout=60)
        assert good_item["state"] == "stored"
    finally:
        client.close()
        for close in closers:
            close()
        for made in servers:
            made.close()


def test_the_silent_hosts_end_timed_out_after_their_retries(
    slow_cluster: Cluster, crowd: str
) -> None:
    store = Store(slow_cluster.database_url)
    items = _final(store, crowd, SILENT, timeout=600)
    assert len(items) == SILENT
    assert Counter(item["state"] for item in items) == {"failed": SILENT}
    assert Counter(item["reason"] for item in items) == {"timeout": SILENT}
    tries = DEFAULTS.fetch_max_retries + 1
    assert all(f"gave up after {tries} tries" in (item["detail"] or "") for item in items[:20])
    assert all("first-byte timeout" in (item["detail"] or "") for item in items[:20])
    slow_cluster.check_alive()
