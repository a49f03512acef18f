"""The bench rig: one Redis, a fresh sandbox and fleet per scenario, keys under one prefix.

Every scenario runs inside :meth:`Rig.stage`, which gives it a sandbox of its own (latency
150 ± 50 ms, the 50 ms rule enforced with 429), a Celery app and ledger under a key prefix of
its own (``nwbench:<hex>:<scenario>:``), and a :class:`Fleet` it starts when it is ready. On
the way out — also on Ctrl-C or an exception — the workers are stopped first, then the
scenario's Redis keys are deleted, then the sandbox is stopped.

Workers are started as a user types them: ``celery -A nusaworker worker -Q … [--pool …] -c N``
with only a node name (several run on one host) and ``-l info`` (the bench sees "ready." in
the log) added; no ``--without-*`` flags, and no ``--pool`` unless a scenario is about one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from nusaworker.bench.procstat import (
    cpu_delta,
    machine_sample,
    parent_map,
    sample_tree_cpu,
    tree_peak_rss_kib,
)
from nusaworker.bench.stats import contention
from nusaworker.errors import ConfigurationError
from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.sandbox import FaultProfile, Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import REPO_ROOT, Fleet, WorkerProcess, fleet_env

# The provider's rule as the sandbox enforces it, and the answer latency of the issue.
MIN_INTERVAL_MS = 50.0
RULE_PER_S = 1000.0 / MIN_INTERVAL_MS
LATENCY_MS = 150.0
LATENCY_JITTER_MS = 50.0

PENDING = frozenset({MessageState.ACCEPTED, MessageState.SENDING})
# A worker on a box whose cores two busy loops hold takes a while to import and fork.
READY_TIMEOUT_S = 120.0
# Celery's start-up banner: ".> concurrency: 4 (prefork)".
BANNER_POOL = re.compile(r"concurrency:\s*(\d+)\s*\((\w+)\)")
# Celery names its pools one way on the command line and another in the banner.
BANNER_NAMES = {"prefork": "prefork", "processes": "prefork", "threads": "thread", "solo": "solo"}


def banner_pool(log: str) -> tuple[int, str] | None:
    """``(concurrency, pool)`` a worker reported in its start-up banner (None if not yet)."""
    found = BANNER_POOL.search(log)
    return None if found is None else (int(found.group(1)), found.group(2))


@dataclass(frozen=True)
class WorkerSpec:
    """One ``celery worker`` process of a scenario's fleet (``pool=None``: no ``--pool`` flag,
    the pool ``celeryconfig.py`` chooses)."""

    name: str
    queues: str
    concurrency: int
    extra_args: tuple[str, ...] = ()
    pool: str | None = None

    def args(self) -> list[str]:
        """The arguments after ``celery -A nusaworker``."""
        pool = ["--pool", self.pool] if self.pool else []
        return [
            "worker",
            "-Q",
            self.queues,
            *pool,
            "-c",
            str(self.concurrency),
            "-n",
            f"{self.name}@%h",
            "-l",
            "info",
            *self.extra_args,
        ]

    def describe(self) -> str:
        pool = f" --pool {self.pool}" if self.pool else ""
        return f"{self.name}: -Q {self.queues}{pool} -c {self.concurrency}"


@dataclass
class Stage:
    """What one scenario runs on; built by :meth:`Rig.stage`."""

    name: str
    prefix: str
    box: Sandbox
    fleet: Fleet
    producer: Producer
    redis: redis.Redis
    keep_logs: Path | None = None
    workers: dict[str, WorkerProcess] = field(default_factory=dict)
    pools: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def start(self, specs: Sequence[WorkerSpec]) -> None:
        """Start the fleet's workers one by one; each is ready (consuming) when this returns.

        Each worker's pool is read from its banner: a worker that came up with another pool than
        the one asked for by name (celery maps ``--pool prefork`` to the configured pool unless
        nusaworker.celery stops it) would measure the wrong thing, so that is an error.
        """
        for spec in specs:
            worker = self._spawn(spec)
            pool = self._pool_of(worker)
            wanted = BANNER_NAMES.get(spec.pool or "")
            if wanted is not None and pool not in (None, wanted):
                raise ConfigurationError(
                    f"{spec.name}: asked for --pool {spec.pool}, the worker runs {pool}"
                )
            self.workers[spec.name] = worker
            self.pools[spec.name] = pool or "unknown"

    def _spawn(self, spec: WorkerSpec) -> WorkerProcess:
        worker = WorkerProcess.spawn(
            spec.name, spec.args(), self.fleet.env, self.fleet.logdir, cwd=REPO_ROOT
        )
        self.fleet.workers.append(worker)  # the fleet stops it, whatever happens next
        worker.wait_ready(READY_TIMEOUT_S)
        return worker

    @staticmethod
    def _pool_of(worker: WorkerProcess) -> str | None:
        found = banner_pool(worker.log())
        return None if found is None else found[1]

    def save_logs(self) -> str | None:
        """Copy the workers' logs where they outlive the run (for a run that went wrong)."""
        if self.keep_logs is None or not self.fleet.logdir.exists():
            return None
        target = self.keep_logs / self.name
        shutil.copytree(self.fleet.logdir, target, dirs_exist_ok=True)
        return str(target)

    def pids(self) -> dict[str, int]:
        """Worker name → pid of its main process (a prefork worker's pool children hang below)."""
        return {name: w.proc.pid for name, w in self.workers.items()}

    def peak_rss(self) -> dict[str, int | None]:
        """Worker name → peak resident set (KiB) of its process tree so far; read before the
        fleet stops."""
        parents = parent_map()
        return {name: tree_peak_rss_kib(pid, parents) for name, pid in self.pids().items()}

    def stop_workers(self) -> None:
        """Stop the fleet now (the stage's keys and sandbox stay until it exits)."""
        self.fleet.stop()
        self.workers.clear()

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

    def __init__(
        self,
        redis_url: str,
        run_prefix: str,
        *,
        seed: int,
        logdir: Path,
        keep_logs: Path | None = None,
    ) -> None:
        self.redis_url = redis_url
        self.run_prefix = run_prefix
        self.seed = seed
        self.logdir = logdir
        self.keep_logs = keep_logs
        self.kernel_timestamps: bool | None = None

    @contextlib.contextmanager
    def stage(self, name: str, *, pacing_gate: str | None = None) -> Iterator[Stage]:
        """A fresh sandbox, an empty fleet and a producer for scenario ``name``.

        ``pacing_gate`` goes to the workers as ``NUSAWORKER_PACING_GATE``; None leaves the
        product's default.
        """
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
            extra = {} if pacing_gate is None else {"pacing_gate": pacing_gate}
            env = fleet_env(redis_url=self.redis_url, key_prefix=prefix, base_url=box.url, **extra)
            logdir = self.logdir / name
            logdir.mkdir(parents=True, exist_ok=True)
            fleet = stack.enter_context(Fleet(env, logdir=logdir))
            producer = Producer.from_settings(
                Settings(redis_url=self.redis_url, key_prefix=prefix, nusasms_base_url=box.url)
            )
            stack.callback(_close_producer, producer)
            yield Stage(
                name,
                prefix,
                box,
                fleet,
                producer,
                client,
                keep_logs=self.keep_logs,
            )

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
    """CPU seconds of each worker (process tree), of this process and of the machine over one
    window; busy-loop hogs, when a scenario runs them, are counted apart."""

    pids: dict[str, int]
    started: float
    workers_before: dict[str, float | None]
    machine_before: tuple[float, float]
    hog_pids: dict[str, int] = field(default_factory=dict)
    hogs_before: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def start(cls, pids: dict[str, int], hog_pids: Sequence[int] = ()) -> Meter:
        """Take the first samples, back to back."""
        hogs = {f"hog{i + 1}": pid for i, pid in enumerate(hog_pids)}
        return cls(
            pids,
            time.monotonic(),
            sample_tree_cpu(pids),
            machine_sample(),
            hogs,
            sample_tree_cpu(hogs),
        )

    def stop(self) -> tuple[dict[str, float | None], dict[str, Any]]:
        """``(CPU seconds per worker, how busy the machine was and with what)`` since start."""
        workers = cpu_delta(self.workers_before, sample_tree_cpu(self.pids))
        hogs = cpu_delta(self.hogs_before, sample_tree_cpu(self.hog_pids))
        busy, own = machine_sample()
        wall_s = time.monotonic() - self.started
        figures = contention(
            busy_s=busy - self.machine_before[0],
            own_s=own - self.machine_before[1],
            workers_s={**workers, **hogs},
            wall_s=wall_s,
            nproc=os.cpu_count() or 1,
        )
        if hogs:
            known = [v for v in hogs.values() if v is not None]
            figures["hogs_cpu_s"] = round(sum(known), 3)
            figures["hogs_cores"] = round(sum(known) / wall_s, 3) if wall_s > 0 else None
        return workers, figures
