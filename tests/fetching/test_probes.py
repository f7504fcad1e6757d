"""The prober asks hosts not known to answer, thousands at once, outside the fetch threads:
an answer marks the host as answering; silence, a refusal or a hang-up backs it off and puts
its item back in line for a retry; its last try goes on to its fetch task with the failure."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from sluice.shared.errors import RetryableError
from sluice.shared.settings import Settings
from sluice.workers.fetching.frontier import RETRIES_FIELD, Frontier, Lease
from sluice.workers.fetching.politeness import HostBudget
from sluice.workers.fetching.probes import Prober
from tests.support.silent import SilentHosts, loopback_addresses
from tests.support.web import WebServer

SETTINGS = Settings(
    fetch_first_byte_timeout=1.0,
    fetch_connect_timeout=1.0,
    fetch_allow_networks="127.0.0.0/8",
    fetch_host_rate=10.0,
    fetch_max_retries=1,
)


@pytest.fixture
def prober(redis_client: redis.Redis) -> Iterator[tuple[Prober, list[tuple[Lease, object]]]]:
    sent: list[tuple[Lease, object]] = []
    lock = threading.Lock()

    def send(lease: Lease, silence: RetryableError | None) -> None:
        with lock:
            sent.append((lease, silence))

    made = Prober(redis_client, SETTINGS, send)
    made.start()
    yield made, sent
    made.stop()


def _lease(frontier: Frontier, url: str, retries: int = 0) -> Lease:
    item = f"j:{url}"
    frontier.add([(item, url, {"url": url, RETRIES_FIELD: retries}, 0)])
    leases, _ = frontier.release(0, 60_000, 1)
    assert [lease.item for lease in leases] == [item]
    return leases[0]


def _until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the probes did not settle"
        time.sleep(0.05)


def test_answering_silent_refusing_and_hanging_up_hosts(
    redis_client: redis.Redis, prober: tuple[Prober, list[tuple[Lease, object]]]
) -> None:
    probe, sent = prober
    frontier = Frontier(redis_client)
    budget = HostBudget(redis_client, 10.0)
    web = WebServer("127.0.5.1")
    silent = SilentHosts(["127.0.5.2"])
    rude = SilentHosts(["127.0.5.3"], hang_up=True)
    with socket.socket() as free:
        free.bind(("127.0.5.4", 0))
        refused_port = free.getsockname()[1]
    try:
        urls = {
            "answers": web.url("/a.html"),
            "silent": silent.url("127.0.5.2", "/a.html"),
            "hangs-up": rude.url("127.0.5.3", "/a.html"),
            "refused": f"http://127.0.5.4:{refused_port}/a.html",
        }
        leases = {name: _lease(frontier, url) for name, url in urls.items()}
        started = time.monotonic()
        for lease in leases.values():
            probe.submit(lease)
        _until(lambda: len(sent) == 1 and Frontier(redis_client).stats(0).delayed == 3)
        assert time.monotonic() - started < 5  # probed at once, not one after another
    finally:
        web.close()
        silent.close()
        rude.close()
    # Only the host that answered goes on to its fetch task now, with no failure.
    assert [(lease.host, silence) for lease, silence in sent] == [("127.0.5.1", None)]
    assert budget.answers("127.0.5.1")
    for name in ("silent", "hangs-up", "refused"):
        host = leases[name].host
        assert not budget.answers(host)
        assert redis_client.hget(f"sluice:polite:{host}", "why") == b"back-off"
        # Back in line for its retry, counted.
        assert Frontier(redis_client).is_delayed(leases[name].item)
    assert web.hits == []  # a probe is a HEAD: no page was fetched


def test_the_last_try_goes_to_its_fetch_task_with_the_failure(
    redis_client: redis.Redis, prober: tuple[Prober, list[tuple[Lease, object]]]
) -> None:
    probe, sent = prober
    frontier = Frontier(redis_client)
    (address,) = loopback_addresses(1, second=30)
    silent = SilentHosts([address])
    try:
        lease = _lease(frontier, silent.url(address, "/a.html"), retries=1)
        probe.submit(lease)
        _until(lambda: len(sent) == 1)
    finally:
        silent.close()
    ((went, silence),) = sent
    assert went.item == lease.item
    assert isinstance(silence, RetryableError) and silence.reason == "timeout"
    assert "first-byte timeout" in silence.detail
