"""The fleets the bench starts, laid out as a new user lays one out, and the pacing variants.

A new user runs three general workers on every send queue and one small worker for OTPs,
with default settings::

    celery -A nusaworker worker -Q otp,wa,wa_official,sms,check -c 4     # three of these
    celery -A nusaworker worker -Q otp -c 2

The pacing variants run that fleet with the pool ``celeryconfig.py`` chooses (no ``--pool``),
with ``--pool prefork``, and as one ``--pool threads -c 8`` worker; each also with two busy
loops holding both cores; each through both gates.
"""

from __future__ import annotations

from dataclasses import dataclass

from nusaworker.bench.naive_tasks import NAIVE_QUEUE
from nusaworker.bench.rig import WorkerSpec
from nusaworker.routing import SEND_QUEUES as _SEND_QUEUES

# Every queue a send task can land on: OTPs first (a worker drains its queues in this order).
SEND_QUEUES = ",".join(_SEND_QUEUES)
OTP_QUEUE = "otp"
NAIVE_MODULE = "nusaworker.bench.naive_tasks"
GATES = ("causal", "slots")
HOGS = 2


def new_user_fleet(pool: str | None = None, *, queues: str = SEND_QUEUES) -> list[WorkerSpec]:
    """Three ``-Q <all send queues> -c 4`` workers and one ``-Q otp -c 2`` worker."""
    general = [WorkerSpec(f"send{i + 1}", queues, 4, pool=pool) for i in range(3)]
    return [*general, WorkerSpec("otp", OTP_QUEUE, 2, pool=pool)]


def one_threads_worker() -> list[WorkerSpec]:
    """One ``--pool threads -c 8`` worker on every send queue."""
    return [WorkerSpec("threads8", SEND_QUEUES, 8, pool="threads")]


def naive_fleet() -> list[WorkerSpec]:
    """The new user's processes, all running the naive ``rate_limit`` task on its own queue."""
    extra = ("-I", NAIVE_MODULE)
    return [
        WorkerSpec(f"naive{i + 1}", NAIVE_QUEUE, spec.concurrency, extra, spec.pool)
        for i, spec in enumerate(new_user_fleet())
    ]


def serial_worker() -> list[WorkerSpec]:
    """One process, one thread: the rate latency alone allows."""
    return [WorkerSpec("serial", SEND_QUEUES, 1, pool="threads")]


def fifo_fleet() -> list[WorkerSpec]:
    """The new user's processes, every one consuming only ``wa``: one FIFO queue."""
    return [
        WorkerSpec(spec.name, "wa", spec.concurrency, pool=spec.pool) for spec in new_user_fleet()
    ]


@dataclass(frozen=True)
class PacingVariant:
    """One row group of the pacing table: a fleet, with or without hogs."""

    name: str
    label: str
    pool: str  # "default" | "prefork" | "threads8"
    hogs: int

    def specs(self) -> list[WorkerSpec]:
        if self.pool == "threads8":
            return one_threads_worker()
        return new_user_fleet(None if self.pool == "default" else self.pool)


def _variants() -> tuple[PacingVariant, ...]:
    pools = (
        ("default", "(a) 3 x -c 4 + otp -c 2, no --pool"),
        ("prefork", "(b) 3 x -c 4 + otp -c 2, --pool prefork"),
        ("threads8", "(c) one --pool threads -c 8"),
    )
    quiet = [PacingVariant(name, label, name, 0) for name, label in pools]
    hogged = [
        PacingVariant(f"{name}-hogs", f"{label}, {HOGS} busy loops", name, HOGS)
        for name, label in pools
    ]
    return (*quiet, *hogged)


PACING_VARIANTS = _variants()
VARIANTS_BY_NAME = {v.name: v for v in PACING_VARIANTS}
