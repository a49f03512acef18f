"""The bench rig: one Redis, a fresh sandbox and fleet per scenario, keys under one prefix.

Every scenario runs inside :meth:`Rig.stage`, which gives it a sandbox of its own (latency
150 ± 50 ms, the 50 ms rule enforced with 429), a Celery app and ledger under a key prefix of
its own (``nwbench:<hex>:<scenario>:``), and a :class:`Fleet` it starts when it is ready. On
the way out — also on Ctrl-C or an exception — the workers are stopped first, then the
scenario's Redis keys are deleted, then the sandbox is stopped.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from nusaworker.bench.procstat import cpu_delta, machine_sample, peak_rss_kib, sample_cpu
from nusaworker.bench.stats import contention
from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, WorkerProcess, fleet_env

# The provider's rule as the sandbox enforces it, and the answer latency of the issue.
MIN_INTERVAL_MS = 50.0
RULE_PER_S = 1000.0 / MIN_INTERVAL_MS
LATENCY_MS = 150.0
LATENCY_JITTER_MS = 50.0

PENDING = frozenset({MessageState.ACCEPTED, MessageState.SENDING})


@dataclass(frozen=True)
class WorkerSpec:
    """One ``celery worker`` process of a scenario's fleet."""

    name: str
    queues: str
    concurrency: int
    extra_args: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.name}: -Q {self.queues} -c {self.concurrency}"


@dataclass
class Stage:
    """What one scenario runs on; built by :meth:`Rig.stage`."""

    name: str
    prefix: str
    box: Sandbox
    fleet: Fleet
    producer: Producer
    redis: redis.Redis
    workers: dict[str, WorkerProcess] = field(default_factory=dict)

    def start(self, specs: Sequence[WorkerSpec]) -> None:
        """Start the fleet's workers one by one; each is ready (consuming) when this returns."""
        for spec in specs:
            self.workers[spec.name] = self.fleet.start(
                spec.name, spec.queues, concurrency=spec.concurrency, extra_args=spec.extra_args
            )

    def pids(self) -> dict[str, int]:
        """Worker name → pid (a ``--pool threads`` worker is one process)."""
        return {name: w.proc.pid for name, w in self.workers.items()}

    def peak_rss(self) -> dict[str, int | None]:
        """Worker name → peak resident set (KiB) so far; read before the fleet stops."""
        return {name: peak_rss_kib(pid) for name, pid in self.pids().items()}

    def pending(self, ids: Sequence[str]) -> int:
        """How many of ``ids`` are still ``accepted`` or ``sending`` (missing ones count too)."""
        counts = self.producer.ledger.counts_by_state(ids)
        settled = sum(n for state, n in counts.items() if state not in PENDING)
        return len(ids) - settled

    def states(self, ids: Sequence[str]) -> dict[str, int]:
        """Ledger state → count for ``ids``."""
        counts = self.producer.ledger.counts_by_state(ids)
        return {str(state): n for state, n in sorted(counts.items(), key=lambda kv: str(kv[0]))}


class Rig:
    """Builds the stages of one bench run; every key it writes hangs under ``run_prefix``."""

    def __init__(self, redis_url: str, run_prefix: str, *, seed: int, logdir: Path) -> None:
        self.redis_url = redis_url
        self.run_prefix = run_prefix
        self.seed = seed
        self.logdir = logdir
        self.kernel_timestamps: bool | None = None

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[Stage]:
        """A fresh sandbox, an empty fleet and a producer for scenario ``name``."""
        prefix = f"{self.run_prefix}{name}:"
        faults = FaultProfile(latency_ms=LATENCY_MS, latency_jitter_ms=LATENCY_JITTER_MS)
        with contextlib.ExitStack() as stack:
            box = stack.enter_context(
                Sandbox(
                    host="127.0.0.1",
                    port=0,
                    min_interval_ms=MIN_INTERVAL_MS,
                    enforce_rate=True,
                    faults=faults,
                    seed=self.seed,
                )
            )
            self.kernel_timestamps = box.kernel_timestamps
            client = redis.Redis.from_url(self.redis_url, socket_timeout=10)
            stack.callback(client.close)
            # Registered before the fleet is entered, so it runs after the workers stopped:
            # a running worker could write keys again.
            stack.callback(delete_keys, client, prefix)
            env = fleet_env(redis_url=self.redis_url, key_prefix=prefix, base_url=box.url)
            logdir = self.logdir / name
            logdir.mkdir(parents=True, exist_ok=True)
            fleet = stack.enter_context(Fleet(env, logdir=logdir))
            producer = Producer.from_settings(
                Settings(redis_url=self.redis_url, key_prefix=prefix, nusasms_base_url=box.url)
            )
            stack.callback(_close_producer, producer)
            yield Stage(name, prefix, box, fleet, producer, client)

    def sweep(self) -> int:
        """Delete every key of this run (each stage already deleted its own); returns how many."""
        client = redis.Redis.from_url(self.redis_url, socket_timeout=10)
        try:
            return delete_keys(client, self.run_prefix)
        finally:
            client.close()


def delete_keys(client: redis.Redis, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN + DEL in batches; never FLUSHDB)."""
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            deleted += int(client.delete(*batch))
            batch.clear()
    if batch:
        deleted += int(client.delete(*batch))
    return deleted


def _close_producer(producer: Producer) -> None:
    producer.app.close()
    producer.ledger.redis.close()


def wait_until(predicate: Callable[[], bool], timeout: float, poll: float = 0.25) -> bool:
    """Call ``predicate`` every ``poll`` seconds until it holds (True) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def load_1m() -> float:
    """The 1-minute load average: a busy box (another test run) disturbs the figures."""
    return round(os.getloadavg()[0], 2)


@dataclass
class Meter:
    """CPU seconds of each worker, of this process and of the machine over one window."""

    pids: dict[str, int]
    started: float
    workers_before: dict[str, float | None]
    machine_before: tuple[float, float]

    @classmethod
    def start(cls, pids: dict[str, int]) -> Meter:
        """Take the first samples, back to back."""
        return cls(pids, time.monotonic(), sample_cpu(pids), machine_sample())

    def stop(self) -> tuple[dict[str, float | None], dict[str, Any]]:
        """``(CPU seconds per worker, how busy the machine was and with what)`` since start."""
        workers = cpu_delta(self.workers_before, sample_cpu(self.pids))
        busy, own = machine_sample()
        figures = contention(
            busy_s=busy - self.machine_before[0],
            own_s=own - self.machine_before[1],
            workers_s=workers,
            wall_s=time.monotonic() - self.started,
            nproc=os.cpu_count() or 1,
        )
        return workers, figures
