"""Messages a dead worker held come back within about a minute, not after the visibility
timeout.

Redis hands a task message to a worker and keeps a copy in kombu's ``unacked`` hash until
the worker acknowledges it (after the task ran: ``task_acks_late``). A pool process that
dies is handled by Celery at once, but when the worker itself dies without a warm shutdown
(SIGKILL, the OOM killer taking the main process, a lost node), only the visibility timeout
(``SLUICE_VISIBILITY_TIMEOUT``, an hour by default) brings its messages back. So:

* each worker process is an *incarnation* (its node name and a token of this start), and
  notes the delivery tag of every message it receives under that incarnation in Redis;
* a keeper thread in every worker keeps its own incarnation alive (a key that expires after
  ``SLUICE_WORKER_DEAD_AFTER`` seconds, refreshed several times within it), and forgets its
  tags that are acknowledged;
* the same thread looks for incarnations whose key expired (found so at two looks in a row),
  and puts each of their messages still unacknowledged back in its queue with kombu's own
  restore (the transaction the visibility timeout uses, so a message is never restored
  twice), then forgets them.

A worker restarted under the same name is a new incarnation: the old one's messages come
back all the same. Tasks a dead worker was running run again, as after any redelivery:
every stage is idempotent, and ``workers.recovery.attempts`` bounds how often one may die.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence

import redis
from kombu.transport.redis import Channel
from sqlalchemy.exc import OperationalError as DatabaseError

from sluice.shared.clock import clock_for
from sluice.shared.redis_state import KEY_PREFIX

__all__ = ["HeldMessages", "Keeper", "live_nodes"]

log = logging.getLogger(__name__)

_HELD = f"{KEY_PREFIX}held:"  # per incarnation: delivery tag -> when received (Redis TIME)
_ALIVE = f"{KEY_PREFIX}alive:"  # per incarnation, expires unless refreshed
# Every incarnation with a hash (no SCAN of a keyspace that may hold millions of keys).
_INCARNATIONS = f"{KEY_PREFIX}incarnations"


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def live_nodes(client: redis.Redis) -> set[str]:
    """The node names of the workers beating now (``fetch@host`` …): those that will
    answer a broadcast, so ``sluice status`` waits for their replies, not for a timeout."""
    incarnations = [_text(i) for i in client.smembers(_INCARNATIONS)]
    with client.pipeline(transaction=False) as pipe:
        for incarnation in incarnations:
            pipe.exists(_ALIVE + incarnation)
        beating = pipe.execute()
    alive = (i for i, up in zip(incarnations, beating, strict=True) if up)
    return {incarnation.rsplit(":", 1)[0] for incarnation in alive}


class HeldMessages:
    """The delivery tags one worker incarnation holds, and the restore of dead ones'."""

    def __init__(self, client: redis.Redis, node: str, dead_after: float) -> None:
        self.client = client
        self.incarnation = f"{node}:{uuid.uuid4().hex[:12]}"
        self.dead_after = dead_after
        self.clock = clock_for(client)
        self._silent: set[str] = set()  # incarnations found silent at the last look

    @property
    def held_key(self) -> str:
        return _HELD + self.incarnation

    def received(self, delivery_tag: str) -> None:
        """This worker now holds the message ``delivery_tag``."""
        self.client.hset(self.held_key, delivery_tag, f"{self.clock.now():.3f}")

    def heartbeat(self) -> None:
        """This incarnation is alive for another ``dead_after`` seconds."""
        with self.client.pipeline(transaction=False) as pipe:
            pipe.set(_ALIVE + self.incarnation, "1", px=int(self.dead_after * 1000))
            pipe.sadd(_INCARNATIONS, self.incarnation)
            pipe.execute()

    def _others(self) -> list[tuple[str, bool]]:
        """Every other incarnation, and whether it is beating."""
        members = (_text(i) for i in self.client.smembers(_INCARNATIONS))
        others = [i for i in members if i != self.incarnation]
        with self.client.pipeline(transaction=False) as pipe:
            for incarnation in others:
                pipe.exists(_ALIVE + incarnation)
            beating = pipe.execute()
        return [(i, bool(alive)) for i, alive in zip(others, beating, strict=True)]

    def forget_acknowledged(self) -> int:
        """Drop this worker's tags that are no longer unacknowledged; returns how many."""
        tags = list(self.client.hkeys(self.held_key))
        if not tags:
            return 0
        pending = self.client.hmget(Channel.unacked_key, tags)
        done = [tag for tag, message in zip(tags, pending, strict=True) if message is None]
        if done:
            self.client.hdel(self.held_key, *done)
        return len(done)

    def restore_dead(self, restore: Callable[[list[str]], None]) -> int:
        """Give back the unacknowledged messages of every incarnation that stopped beating,
        through ``restore(tags)`` (kombu's restore by tag); returns how many were restored.

        An incarnation is restored at the second look that finds it silent, not the first:
        after Redis itself was away, every worker's key may have lapsed at once, and each
        live worker beats again before that second look.
        """
        silent: set[str] = set()
        restored = 0
        others = self._others()
        for incarnation, alive in others:
            if alive:
                continue
            silent.add(incarnation)
            if incarnation not in self._silent:
                continue
            # A message the visibility timeout gave back already, and a live worker took
            # again (under the same tag), is that worker's now.
            taken = self._tags_of([i for i, beating in others if beating] + [self.incarnation])
            tags = [_text(tag) for tag in self.client.hkeys(_HELD + incarnation)]
            pending = self.client.hmget(Channel.unacked_key, tags) if tags else []
            lost = [
                tag
                for tag, message in zip(tags, pending, strict=True)
                if message is not None and tag not in taken
            ]
            if lost:
                restore(lost)
                restored += len(lost)
                log.warning(
                    "worker %s stopped beating: %d of its messages are back in their queues",
                    incarnation,
                    len(lost),
                )
            self.client.delete(_HELD + incarnation)
            self.client.srem(_INCARNATIONS, incarnation)
            silent.discard(incarnation)
        self._silent = silent
        return restored

    def _tags_of(self, incarnations: list[str]) -> set[str]:
        tags: set[str] = set()
        for incarnation in incarnations:
            tags.update(_text(tag) for tag in self.client.hkeys(_HELD + incarnation))
        return tags


class Keeper(threading.Thread):
    """A worker's thread: its heartbeat, the restore of dead workers' messages, and
    ``chores`` to do at the same pace (the sweep of items lost in transit)."""

    def __init__(
        self,
        held: HeldMessages,
        restore: Callable[[list[str]], None],
        chores: Sequence[Callable[[], object]] = (),
    ) -> None:
        super().__init__(name="sluice-held-messages", daemon=True)
        self.held = held
        self.restore = restore
        self.chores = chores
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        beat = self.held.dead_after / 4
        while not self._stopping.is_set():
            try:
                self.held.heartbeat()
                self.held.forget_acknowledged()
                self.held.restore_dead(self.restore)
                for chore in self.chores:
                    chore()
            except (redis.RedisError, DatabaseError) as exc:
                log.warning("held messages: Redis or the store unavailable: %s", exc)
            except Exception:  # a bug must not stop the worker: log it and go on
                log.exception("held messages: keeper failed")
            self._stopping.wait(beat)
