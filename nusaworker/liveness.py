"""Worker liveness: the heartbeat that makes a claim a lease, wired to Celery's signals.

Each worker node's main process — the one that holds the broker's messages — gets an identity
unique per boot (``node name|pid|nonce``) at ``worker_init`` and, from a daemon thread,
rewrites its heartbeat key (which names the queues it consumes, for ``nusaworker check``)
every ``heartbeat_interval_s`` with a TTL of ``heartbeat_ttl_s``
(:class:`~nusaworker.ledger.leases.Leases`). Claims made by its tasks carry that identity
(:func:`holder`), so they stay valid exactly as long as the heartbeat does; the main process
also notes every ``send`` task it receives from the broker until the task ends. When a
worker is SIGKILLed its key expires, and beat (:mod:`nusaworker.ledger.recovery`) gives back
or settles its claims and enqueues again the tasks it had received, within seconds.

Pools: with the threads pool the tasks run in the main process. With prefork the children
run them; they are forked after ``worker_init``, so they inherit the parent's identity (a
child dying alone is Celery's business: ``task_reject_on_worker_lost``) and its received-task
bookkeeping, and they never heartbeat themselves (threads do not survive a fork).

A graceful stop (SIGTERM) keeps heartbeating while running tasks finish — ``worker_shutdown``
is sent only after the pool has drained — then retires the identity: the heartbeat and the
received-task index go (the broker restores unacknowledged messages when the connection
closes), and beat resolves anything still held at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Sequence
from typing import Any

import redis
from celery.signals import task_postrun, task_received, worker_shutdown

from nusaworker.connections import redis_client
from nusaworker.keys import Keys
from nusaworker.ledger.leases import Leases
from nusaworker.settings import Settings

log = logging.getLogger(__name__)

# The heartbeat's own connection: short timeouts, so that a Redis blip delays one beat instead
# of hanging the thread past the TTL, and no retries (the next beat is the retry).
SOCKET_TIMEOUT_S = 2.0


class Heartbeat:
    """A daemon thread that keeps ``holder``'s heartbeat key alive until :meth:`stop`."""

    def __init__(
        self,
        leases: Leases,
        holder: str,
        *,
        interval_s: float,
        ttl_s: float,
        queues: Sequence[str] = (),
    ) -> None:
        self.leases = leases
        self.holder = holder
        self.queues = tuple(queues)
        self.interval_s = interval_s
        self.ttl_s = ttl_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nusaworker-heartbeat", daemon=True)

    def start(self) -> None:
        """Beat once now (no claim can exist before its holder is known alive), then keep on."""
        self._beat()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and retire the holder (see :meth:`Leases.retire`)."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval_s + SOCKET_TIMEOUT_S)
        try:
            self.leases.retire(self.holder)
        except redis.RedisError as exc:
            log.warning("holder %s not retired (%s); beat resolves it after its TTL", self, exc)

    def _run(self) -> None:
        while not self._stopped.wait(self.interval_s):
            self._beat()

    def _beat(self) -> None:
        try:
            self.leases.beat(self.holder, self.ttl_s, self.queues)
        except redis.RedisError as exc:
            log.warning("heartbeat of %s not written: %s", self.holder, exc)

    def __repr__(self) -> str:
        return f"Heartbeat({self.holder!r})"


def new_holder(node: str) -> str:
    """An identity unique per boot: the node name, the pid and a random nonce."""
    return f"{node}|{os.getpid()}|{secrets.token_hex(4)}"


_holder: str | None = None
_leases: Leases | None = None
_heartbeat: Heartbeat | None = None
# Names of the tasks whose receipt is noted: those that claim a record (nusaworker.tasks).
_tracked: set[str] = set()


def track(task_name: str) -> None:
    """Note receipts of ``task_name`` (a task whose only argument is a message id)."""
    _tracked.add(task_name)


def holder() -> str | None:
    """The identity claims of this process are made under (``None`` outside a worker)."""
    return _holder


def start(settings: Settings, node: str, queues: Sequence[str] = ()) -> str:
    """Give this worker process its identity and start heartbeating (naming ``queues``, those
    it consumes); returns the identity."""
    global _holder, _leases, _heartbeat
    client = redis_client(settings.redis_url, "edge", timeout_s=SOCKET_TIMEOUT_S)
    _leases = Leases(client, keys=Keys(prefix=settings.key_prefix))
    _holder = new_holder(node)
    _heartbeat = Heartbeat(
        _leases,
        _holder,
        interval_s=settings.heartbeat_interval_s,
        ttl_s=settings.heartbeat_ttl_s,
        queues=queues,
    )
    _heartbeat.start()
    log.info("worker liveness: holder %s", _holder)
    return _holder


def stop() -> None:
    """Stop heartbeating and retire this process's identity."""
    global _holder, _heartbeat
    if _heartbeat is not None:
        _heartbeat.stop()
    _heartbeat = None
    _holder = None


@worker_shutdown.connect
def _on_worker_shutdown(sender: Any = None, **kwargs: Any) -> None:
    stop()


@task_received.connect
def _on_task_received(sender: Any = None, request: Any = None, **kwargs: Any) -> None:
    """Note a received ``send`` task: one HSET, in the consumer before the task is handed on."""
    if _holder is None or _leases is None or request is None or request.name not in _tracked:
        return
    args = request.args or ()
    if not args:
        return
    try:
        _leases.note_received(_holder, request.id, str(args[0]))
    except redis.RedisError as exc:
        # Only the fast path is lost: the broker still redelivers after its visibility timeout.
        log.warning("task %s received but not noted: %s", request.id, exc)


@task_postrun.connect
def _on_task_postrun(
    sender: Any = None, task_id: str | None = None, task: Any = None, **kwargs: Any
) -> None:
    if _holder is None or _leases is None or task_id is None:
        return
    if getattr(task, "name", None) not in _tracked:
        return
    try:
        _leases.drop_received(_holder, task_id)
    except redis.RedisError as exc:
        log.warning("task %s ended but not dropped from received: %s", task_id, exc)
