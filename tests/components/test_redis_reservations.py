"""tests.support.redis_reservations: a dead holder's database is taken over, never a live one's."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid

import redis

from tests.support.redis_reservations import LOCK_KEY, release, reserve
from tests.support.services import RedisProvider


def _finished_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_holders_database_is_taken_over_and_a_live_ones_is_not(
    redis_provider: RedisProvider,
) -> None:
    url = redis_provider.acquire()
    base, db = url.rsplit("/", 1)
    client = redis.Redis.from_url(url)
    try:
        host = socket.gethostname()
        client.set(LOCK_KEY, f"{host}:{_finished_pid()}:gone", ex=60)
        client.set("left-behind", 1)
        token = uuid.uuid4().hex
        taken = reserve(base, token, 60, databases=[int(db)])
        assert taken is not None and taken[1] == int(db)
        assert client.get("left-behind") is None  # emptied for its new holder
        assert reserve(base, uuid.uuid4().hex, 60, databases=[int(db)]) is None  # we are alive
        release(taken[0], token)
        assert client.get(LOCK_KEY) is None

        with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as alive:
            client.set(LOCK_KEY, f"{host}:{alive.pid}:busy", ex=60)
            assert reserve(base, uuid.uuid4().hex, 60, databases=[int(db)]) is None
            alive.kill()
        client.set(LOCK_KEY, f"another-host:{_finished_pid()}:away", ex=60)
        assert reserve(base, uuid.uuid4().hex, 60, databases=[int(db)]) is None
    finally:
        client.flushdb()
        client.close()
