"""Scenario 1 and 3: fleet-wide pacing and its cost, in each pool layout, against two naive
baselines.

Each run sends a batch of WhatsApp texts (the producer's default priority, as a new user calls
it) to a fresh sandbox:

* a pacing variant (:mod:`.layouts`): the new user's fleet with the default pool or
  ``--pool prefork``, or one ``--pool threads -c 8`` worker, quiet or beside two busy loops,
  running the normal ``nusaworker.send`` task through one of the two gates
  (``NUSAWORKER_PACING_GATE``);
* ``naive_rate_limit`` — the same processes running :mod:`nusaworker.bench.naive_tasks`, paced by
  Celery's own ``rate_limit="20/s"`` only (which Celery applies per worker);
* ``serial`` — one worker process, one thread, the normal task (rate bound by latency).

Rates, violations, minimum gap and 429s are the sandbox's own (kernel arrival stamps); CPU is
each worker's process tree (utime + stime) around the sends, peak memory its ``VmHWM``; Redis
commands come from ``INFO commandstats`` of the bench's private server (:mod:`.redisstats`).
While a batch drains the bench watches the sandbox, not Redis, so that its own reads do not
count as the fleet's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from nusaworker.bench import redisstats
from nusaworker.bench.hogs import busy_loops
from nusaworker.bench.layouts import PacingVariant, naive_fleet, serial_worker
from nusaworker.bench.naive_tasks import NAIVE_QUEUE, NAIVE_TASK, outcomes_key
from nusaworker.bench.rig import RULE_PER_S, Meter, Rig, Stage, WorkerSpec, load_1m, wait_until
from nusaworker.bench.stats import cost_figures, hit_figures

# After the last accepted hit, the time its worker needs to record it before Redis is read.
SETTLE_S = 0.5
# Enqueued with no worker running, to measure what the producer alone asks of Redis.
CALIBRATION_SENDS = 50
# If the sandbox saw no new hit for this long, ask the ledger whether the batch is settled
# (some sends may have failed for good and will never be accepted).
IDLE_LEDGER_CHECK_S = 5.0


def _destination(i: int) -> str:
    return f"62812{i:08d}"


def _text(i: int) -> str:
    return f"Bench message #{i}: your order has shipped"


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class SandboxWatch:
    """Done when the sandbox accepted ``messages`` sends, or, once it has gone quiet, when the
    ledger says every message is settled; counts the ledger reads it made (they hit Redis)."""

    def __init__(self, stage: Stage, messages: int, ids: list[str] | None) -> None:
        self.stage = stage
        self.messages = messages
        self.ids = ids
        self.ledger_reads = 0
        self._hits = -1
        self._changed = time.monotonic()

    def __call__(self) -> bool:
        stats = self.stage.box.stats()
        if stats["accepted_sends"] >= self.messages:
            return True
        now = time.monotonic()
        if stats["hits"] != self._hits:
            self._hits, self._changed = stats["hits"], now
            return False
        if self.ids is None or now - self._changed < IDLE_LEDGER_CHECK_S:
            return False
        self._changed = now
        self.ledger_reads += 1
        return len(self.ids) == self.messages and self.stage.pending(self.ids) == 0


def _run(
    stage: Stage,
    specs: Sequence[WorkerSpec],
    *,
    messages: int,
    enqueue: Callable[[int], None],
    done: Callable[[], bool],
    outcomes: Callable[[], dict[str, int]],
    timeout: float,
    hog_pids: Sequence[int] = (),
) -> tuple[dict[str, Any], dict[str, int]]:
    """Start the fleet, send ``messages``, wait, and gather the sandbox's and /proc's figures.

    Returns the row and the Redis command calls of the window (first enqueue to settled).
    """
    load_start = load_1m()
    stage.start(specs)
    redis_before = redisstats.sample(stage.redis)
    meter = Meter.start(stage.pids(), hog_pids)
    started = time.monotonic()
    for i in range(messages):
        enqueue(i)
    enqueue_s = time.monotonic() - started
    finished = wait_until(done, timeout)
    wall_s = time.monotonic() - started
    time.sleep(SETTLE_S)
    cpu, machine = meter.stop()
    redis_after = redisstats.sample(stage.redis)
    rss = stage.peak_rss()
    figures = hit_figures(stage.box.hits(account="main"), rule_per_s=RULE_PER_S)
    row = {
        "fleet": [spec.describe() for spec in specs],
        "processes": len(specs),
        "threads_per_process": specs[0].concurrency,
        "concurrency_total": sum(spec.concurrency for spec in specs),
        "messages": messages,
        "finished": finished,
        "outcomes": outcomes(),
        "enqueue_s": round(enqueue_s, 3),
        "wall_s": round(wall_s, 3),
        "sandbox": figures,
        "cost": cost_figures(cpu, rss, messages),
        "machine": machine,
        "loadavg_1m": [load_start, load_1m()],
        "redis_cpu_s": round(redis_after.cpu_s - redis_before.cpu_s, 3),
        "pools": dict(stage.pools),
    }
    if stage.notes:
        row["notes"] = list(stage.notes)
    if not finished:
        row["logs"] = stage.save_logs()
    return row, redisstats.calls_delta(redis_before.calls, redis_after.calls)


def _drain_timeout(messages: int, rate_per_s: float) -> float:
    """Generous: three times the ideal time plus a minute."""
    return 60.0 + 3.0 * messages / rate_per_s


def run_variant(
    rig: Rig, variant: PacingVariant, *, gate: str, messages: int, priority: str
) -> dict[str, Any]:
    """One pacing variant through one gate: the normal send task, default settings."""
    name = f"pacing-{variant.name}-{gate}"
    with rig.stage(name, pacing_gate=gate) as stage, busy_loops(variant.hogs) as hogs:
        row = _run_ledger_fleet(
            stage, variant.specs(), messages, RULE_PER_S, priority=priority, hog_pids=hogs
        )
    row.update(variant=variant.name, gate=gate, pool=variant.pool, hogs=variant.hogs)
    return row


def run_serial(rig: Rig, *, messages: int, priority: str) -> dict[str, Any]:
    """One worker process with one thread: the normal task, one hit at a time."""
    with rig.stage("pacing-serial") as stage:
        # Latency alone bounds it: ~1 / (150 ms + overhead), far below the rule.
        return _run_ledger_fleet(stage, serial_worker(), messages, 4.0, priority=priority)


def _run_ledger_fleet(
    stage: Stage,
    specs: Sequence[WorkerSpec],
    messages: int,
    expected_rate: float,
    *,
    priority: str,
    hog_pids: Sequence[int] = (),
) -> dict[str, Any]:
    ids: list[str] = []

    def enqueue(i: int) -> None:
        ids.append(stage.producer.send_whatsapp(_destination(i), _text(i), priority=priority))

    watch = SandboxWatch(stage, messages, ids)
    row, window = _run(
        stage,
        specs,
        messages=messages,
        enqueue=enqueue,
        done=watch,
        outcomes=lambda: stage.states(ids),
        timeout=_drain_timeout(messages, expected_rate),
        hog_pids=hog_pids,
    )
    stage.stop_workers()
    producer = calibrate_producer(stage, priority=priority)
    row["redis"] = redisstats.redis_cost(
        window=window, producer_per_send=producer, sends=messages, cpu_s=row.pop("redis_cpu_s")
    )
    # Each ledger read during the window asked Redis for every message's state.
    row["redis"]["bench_ledger_reads_in_window"] = watch.ledger_reads
    row["priority"] = priority
    return row


def calibrate_producer(stage: Stage, *, priority: str) -> dict[str, float]:
    """Producer Redis calls per enqueue, measured with no worker running (the records stay
    ``accepted`` until the stage deletes its keys)."""
    before = redisstats.sample(stage.redis)
    for i in range(CALIBRATION_SENDS):
        stage.producer.send_whatsapp(_destination(10**7 + i), _text(i), priority=priority)
    after = redisstats.sample(stage.redis)
    return redisstats.per_unit(redisstats.calls_delta(before.calls, after.calls), CALIBRATION_SENDS)


def run_naive(rig: Rig, *, messages: int) -> dict[str, Any]:
    """The baseline: Celery ``rate_limit="20/s"`` per worker, no gate, no ledger."""
    with rig.stage("pacing-naive") as stage:
        key = outcomes_key(stage.prefix)

        def enqueue(i: int) -> None:
            stage.producer.app.send_task(
                NAIVE_TASK, args=[_destination(i), _text(i)], queue=NAIVE_QUEUE
            )

        def outcomes() -> dict[str, int]:
            raw = stage.redis.hgetall(key)
            return {_str(k): int(v) for k, v in sorted(raw.items())}

        row, _ = _run(
            stage,
            naive_fleet(),
            messages=messages,
            enqueue=enqueue,
            done=lambda: sum(outcomes().values()) >= messages,
            outcomes=outcomes,
            timeout=_drain_timeout(messages, RULE_PER_S),
        )
        # Its done-check polls Redis, so its command counts would not be the fleet's alone.
        row.pop("redis_cpu_s")
        return row
