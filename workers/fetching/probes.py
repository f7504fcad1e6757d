"""Probes: does a host answer at all? Asked without taking one of the fetch threads.

A fetch worker has a few threads (``SLUICE_FETCH_CONCURRENCY``), and a host that accepts
connections and never answers holds one for the whole first-byte timeout: 2,000 such hosts
would hold them all for many minutes, and every healthy host would wait behind them. So the
pump (:mod:`workers.fetching.pump`) hands an item whose host is not known to answer (new, or
its last request got no answer: no ``ok`` in its budget, :mod:`workers.fetching.politeness`)
to the :class:`Prober` first: one asyncio thread per fetch worker that asks thousands of
hosts at once (``SLUICE_FETCH_PROBES``), each on its turn and within its gate, through the
address guard, with ``HEAD /robots.txt``, and waits for the first byte of the answer.

* Any answer: the host is marked as answering, and the item goes on as its fetch task.
* No answer within the first-byte timeout, a refused, closed or reset connection: the host
  backs off (its gate closes, longer at each failure in a row) and the item goes back in
  line for its retry, as if its own request had failed, without ever taking a fetch thread;
  after its last retry its fetch task is sent with the failure (:data:`PROBE_FIELD`), sends
  no request, and records the item as failed with that reason.
* What a probe cannot judge (a name that does not resolve, a refused address, TLS trouble)
  is left to the fetch task, which records its own reason.

The probe is a request like the others: it books the host's gate, so the host's first page
follows one interval after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import redis

from sluice.shared.errors import PermanentError, RetryableError
from sluice.shared.hosts import host_of
from sluice.shared.reasons import Reason
from sluice.shared.settings import Settings
from sluice.workers.fetching.addresses import AddressPolicy, Resolver, system_resolver
from sluice.workers.fetching.frontier import PROBE_FIELD, RETRIES_FIELD, Frontier, Lease
from sluice.workers.fetching.politeness import HostBudget

__all__ = ["ANSWERED", "PROBE_FIELD", "Prober", "Verdict", "silence_of"]

log = logging.getLogger(__name__)

#: A probe's verdict: the host answered.
ANSWERED = "answered"
#: :data:`ANSWERED`, a :class:`RetryableError` (the host is silent), or ``None`` (no verdict).
Verdict = str | RetryableError | None

_PORTS = {"http": 80, "https": 443}


def silence_of(payload: dict[str, Any]) -> RetryableError | None:
    """The failure a probe found for this fetch task's host, if it found one."""
    found = payload.get(PROBE_FIELD)
    if not isinstance(found, dict):
        return None
    return RetryableError(str(found.get("reason") or Reason.TIMEOUT), str(found.get("detail")))


def _sockets_for(probes: int) -> int:
    """How many probes this process can have in flight: ``probes``, within its limit of
    open files (raised as far as the hard limit allows), keeping 512 for everything else."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = probes + 1024
    if soft != resource.RLIM_INFINITY and soft < wanted:
        raised = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return probes
    room = max(1, min(probes, soft - 512))
    if room < probes:
        log.warning("open-file limit %d: %d probes at once, not %d", soft, room, probes)
    return room


class Prober(threading.Thread):
    """Probes hosts on an asyncio loop of its own, then hands each lease to ``send`` (with
    the failure found, or ``None``), from a small pool of helper threads."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        send: Callable[[Lease, RetryableError | None], None],
        *,
        resolver: Resolver = system_resolver,
    ) -> None:
        super().__init__(name="sluice-host-prober", daemon=True)
        self.settings = settings
        self.send = send
        self.resolver = resolver
        self.policy = AddressPolicy.from_setting(settings.fetch_allow_networks)
        self.budget = HostBudget.from_settings(client, settings)
        self.frontier = Frontier(client)
        self.capacity = _sockets_for(settings.fetch_probes)
        self.loop = asyncio.new_event_loop()
        # Redis calls, DNS lookups and publishing block: they run here, not on the loop.
        self.helpers = ThreadPoolExecutor(8, thread_name_prefix="sluice-probe")
        self._running = 0
        self._lock = threading.Lock()
        self._tls = ssl.create_default_context()

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)

    def room(self) -> int:
        """How many more probes may start now."""
        with self._lock:
            return self.capacity - self._running

    def answers(self, hosts: list[str]) -> list[bool]:
        """For each host: is it known to answer (one round trip)?"""
        with self.budget.client.pipeline(transaction=False) as pipe:
            for host in hosts:
                pipe.hexists(f"{self.budget.prefix}polite:{host}", "ok")
            return [bool(found) for found in pipe.execute()]

    def submit(self, lease: Lease) -> None:
        """Probe ``lease``'s host, then send it on."""
        with self._lock:
            self._running += 1
        asyncio.run_coroutine_threadsafe(self._probe(lease), self.loop)

    async def _probe(self, lease: Lease) -> None:
        loop = asyncio.get_running_loop()
        verdict: Verdict = None
        try:
            verdict = await self._ask(lease)
        except Exception:  # a bug must not lose the item: it goes on unprobed
            log.exception("probe of %s failed", lease.host)
        finally:
            with self._lock:
                self._running -= 1
        await loop.run_in_executor(self.helpers, self._settle, lease, verdict)

    def _settle(self, lease: Lease, verdict: Verdict) -> None:
        try:
            if verdict == ANSWERED:
                self.budget.finished(lease.host)
            elif isinstance(verdict, RetryableError):
                pause = self.budget.failed(lease.host)
                log.debug("host %s backs off %.0f s: %s", lease.host, pause, verdict)
                if self._retry(lease, verdict):
                    return
        except (redis.ConnectionError, redis.TimeoutError):
            log.warning("probe of %s: Redis unavailable; its fetch task decides", lease.host)
            verdict = None
        self.send(lease, verdict if isinstance(verdict, RetryableError) else None)

    def _retry(self, lease: Lease, silence: RetryableError) -> bool:
        """Put a silent host's item back in line for its next try, as its fetch task would
        (False: that was its last try, which its fetch task records)."""
        from sluice.shared.metrics.stage_outcomes import count_outcome
        from sluice.shared.outcomes import from_error
        from sluice.workers.running import backoff

        retries = int(lease.payload.get(RETRIES_FIELD) or 0)
        if retries >= self.settings.fetch_max_retries:
            return False
        again = dict(lease.payload, **{RETRIES_FIELD: retries + 1})
        again.pop(PROBE_FIELD, None)
        url = str(lease.payload.get("url") or "")
        self.frontier.finish(lease.item, lease.token, again=again, url=url, delay=backoff(retries))
        count_outcome("fetch", from_error(silence))
        return True

    async def _ask(self, lease: Lease) -> Verdict:
        """Wait for the host's gate, then ask it and wait for the first byte."""
        parts = urlsplit(str(lease.payload.get("url") or ""))
        scheme = parts.scheme.lower()
        try:
            port = parts.port or _PORTS.get(scheme)
        except ValueError:
            return None
        if scheme not in _PORTS or port is None or host_of(lease.payload.get("url")) != lease.host:
            return None  # a bad URL or a redirect's hop: the fetch task sorts it out
        loop = asyncio.get_running_loop()
        try:
            addresses = await loop.run_in_executor(self.helpers, self.resolver, lease.host, port)
            vetted = self.policy.vet(lease.host, addresses)
        except (OSError, UnicodeError, PermanentError):
            return None
        _, wait = await loop.run_in_executor(self.helpers, self._book, lease.host)
        await asyncio.sleep(wait)
        return await self._request(vetted[0], port, lease.host, scheme == "https")

    def _book(self, host: str) -> tuple[bool, float]:
        return self.budget.book(host, hold=self.settings.fetch_host_backoff_max)

    async def _request(self, address: str, port: int, host: str, tls: bool) -> Verdict:
        settings = self.settings
        started = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    address,
                    port,
                    ssl=self._tls if tls else None,
                    server_hostname=host if tls else None,
                ),
                timeout=min(settings.fetch_connect_timeout, settings.fetch_first_byte_timeout),
            )
        except TimeoutError:
            return RetryableError(
                Reason.TIMEOUT, f"no connection within {settings.fetch_connect_timeout:g} s"
            )
        except ConnectionRefusedError:
            return RetryableError(Reason.CONNECTION_ERROR, "connection refused")
        except ConnectionError as exc:
            return RetryableError(Reason.CONNECTION_ERROR, f"{type(exc).__name__}: {exc}")
        except (OSError, ssl.SSLError):
            return None  # TLS trouble, no route…: the fetch task records its own reason
        try:
            name = f"[{host}]" if ":" in host else host
            default = 443 if tls else 80
            authority = name if port == default else f"{name}:{port}"
            writer.write(
                f"HEAD /robots.txt HTTP/1.1\r\nHost: {authority}\r\n"
                f"User-Agent: {settings.user_agent}\r\nAccept: */*\r\n"
                "Connection: close\r\n\r\n".encode("ascii", "replace")
            )
            left = settings.fetch_first_byte_timeout - (time.monotonic() - started)
            first = await asyncio.wait_for(reader.read(1), timeout=max(0.001, left))
        except TimeoutError:
            return RetryableError(
                Reason.TIMEOUT,
                f"no answer within {settings.fetch_first_byte_timeout:g} s "
                "(first-byte timeout, probe)",
            )
        except ConnectionError as exc:
            detail = f"{type(exc).__name__} before any answer"
            return RetryableError(Reason.CONNECTION_ERROR, detail)
        except (OSError, ssl.SSLError):
            return None
        finally:
            writer.close()
        if not first:
            return RetryableError(Reason.CONNECTION_ERROR, "connection closed without an answer")
        return ANSWERED
