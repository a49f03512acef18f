"""Scenario 1 and 3: fleet-wide pacing and its cost, against two naive baselines.

Three fleets send the same kind of WhatsApp batch to a fresh sandbox each:

* ``ours`` — N worker processes (``--pool threads -c 8``) running the normal ``nusaworker.send``
  task through the Redis gate;
* ``naive_rate_limit`` — the same fleet running :mod:`nusaworker.bench.naive_tasks`, paced by
  Celery's own ``rate_limit="20/s"`` only (which Celery applies per worker);
* ``serial`` — one worker process, one thread, the normal task (rate bound by latency).

Rates, violations, minimum gap and 429s are the sandbox's own; CPU is each worker's
utime + stime around the sends, peak memory its ``VmHWM``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from nusaworker.bench.naive_tasks import NAIVE_QUEUE, NAIVE_TASK, outcomes_key
from nusaworker.bench.rig import RULE_PER_S, Meter, Rig, Stage, WorkerSpec, load_1m, wait_until
from nusaworker.bench.stats import cost_figures, hit_figures

BULK_QUEUES = "wa,sms"
NAIVE_MODULE = "nusaworker.bench.naive_tasks"


def _destination(i: int) -> str:
    return f"62812{i:08d}"


def _text(i: int) -> str:
    return f"Bench message #{i}: your order has shipped"


def _str(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def fleet_specs(workers: int, threads: int, *, naive: bool = False) -> list[WorkerSpec]:
    """``workers`` processes of ``threads`` threads, on our queues or the naive one."""
    if naive:
        extra = ("-I", NAIVE_MODULE)
        return [WorkerSpec(f"naive{i + 1}", NAIVE_QUEUE, threads, extra) for i in range(workers)]
    return [WorkerSpec(f"ours{i + 1}", BULK_QUEUES, threads) for i in range(workers)]


def _run(
    stage: Stage,
    specs: Sequence[WorkerSpec],
    *,
    messages: int,
    enqueue: Callable[[int], None],
    done: Callable[[], bool],
    outcomes: Callable[[], dict[str, int]],
    timeout: float,
) -> dict[str, Any]:
    """Start the fleet, send ``messages``, wait, and gather the sandbox's and /proc's figures."""
    load_start = load_1m()
    stage.start(specs)
    meter = Meter.start(stage.pids())
    started = time.monotonic()
    for i in range(messages):
        enqueue(i)
    enqueue_s = time.monotonic() - started
    finished = wait_until(done, timeout)
    cpu, machine = meter.stop()
    wall_s = time.monotonic() - started
    rss = stage.peak_rss()
    figures = hit_figures(stage.box.hits(account="main"), rule_per_s=RULE_PER_S)
    return {
        "fleet": [spec.describe() for spec in specs],
        "processes": len(specs),
        "threads_per_process": specs[0].concurrency,
        "messages": messages,
        "finished": finished,
        "outcomes": outcomes(),
        "enqueue_s": round(enqueue_s, 3),
        "wall_s": round(wall_s, 3),
        "sandbox": figures,
        "cost": cost_figures(cpu, rss, messages),
        "machine": machine,
        "loadavg_1m": [load_start, load_1m()],
    }


def _drain_timeout(messages: int, rate_per_s: float) -> float:
    """Generous: three times the ideal time plus a minute."""
    return 60.0 + 3.0 * messages / rate_per_s


def run_ours(rig: Rig, *, messages: int, workers: int, threads: int) -> dict[str, Any]:
    """Our fleet: the normal send task through the fleet-wide Redis gate."""
    specs = fleet_specs(workers, threads)
    return _run_ledger_fleet(rig, "pacing-ours", specs, messages, RULE_PER_S)


def run_serial(rig: Rig, *, messages: int) -> dict[str, Any]:
    """One worker process with one thread: the normal task, one hit at a time."""
    specs = [WorkerSpec("serial", BULK_QUEUES, 1)]
    # Latency alone bounds it: ~1 / (150 ms + overhead), far below the rule.
    return _run_ledger_fleet(rig, "pacing-serial", specs, messages, 4.0)


def _run_ledger_fleet(
    rig: Rig, name: str, specs: Sequence[WorkerSpec], messages: int, expected_rate: float
) -> dict[str, Any]:
    with rig.stage(name) as stage:
        ids: list[str] = []

        def enqueue(i: int) -> None:
            ids.append(stage.producer.send_whatsapp(_destination(i), _text(i), priority="bulk"))

        return _run(
            stage,
            specs,
            messages=messages,
            enqueue=enqueue,
            done=lambda: len(ids) == messages and stage.pending(ids) == 0,
            outcomes=lambda: stage.states(ids),
            timeout=_drain_timeout(messages, expected_rate),
        )


def run_naive(rig: Rig, *, messages: int, workers: int, threads: int) -> dict[str, Any]:
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

        return _run(
            stage,
            fleet_specs(workers, threads, naive=True),
            messages=messages,
            enqueue=enqueue,
            done=lambda: sum(outcomes().values()) >= messages,
            outcomes=outcomes,
            timeout=_drain_timeout(messages, RULE_PER_S),
        )
