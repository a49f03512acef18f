"""The naive baseline of the pacing benchmark: Celery's own ``rate_limit`` instead of our gate.

Loaded into a worker with ``celery -A nusaworker worker -I nusaworker.bench.naive_tasks -Q
bench_naive``. The task sends one WhatsApp text with a :class:`NusaSMSClient` that has no
pacing (:class:`NoopGate`) and no ledger, relying on ``rate_limit="20/s"`` alone. Celery
enforces that limit per worker process, so a fleet of N workers may hit the provider up to
N x 20 times a second: that is what the benchmark shows. The client keeps its usual short
retries (a 429 is retried with backoff, as any client built on it would).

Each finished task adds one to a Redis hash of outcomes so that the benchmark knows when the
batch is done without a ledger.
"""

from __future__ import annotations

import threading

import redis

from nusaworker.celery import app, settings
from nusaworker.errors import NusaWorkerError
from nusaworker.providers import NoopGate, NusaSMSClient, RateLimited

NAIVE_TASK = "nusaworker.bench.naive_send"
NAIVE_QUEUE = "bench_naive"
NAIVE_RATE_LIMIT = "20/s"


def outcomes_key(key_prefix: str) -> str:
    """Hash: outcome name → count of finished naive sends (lives as long as the bench's keys)."""
    return f"{key_prefix}bench:naive:outcomes"


_lock = threading.Lock()
_client: NusaSMSClient | None = None
_redis: redis.Redis | None = None


def _resources() -> tuple[NusaSMSClient, redis.Redis]:
    """One client and one Redis connection pool per worker process, built on first use."""
    global _client, _redis
    with _lock:
        if _client is None or _redis is None:
            _client = NusaSMSClient(
                base_url=settings.nusasms_base_url,
                api_key=settings.nusasms_api_key,
                gate=NoopGate(),
                connect_timeout=settings.connect_timeout_s,
                read_timeout=settings.read_timeout_s,
            )
            _redis = redis.Redis.from_url(settings.redis_url.get_secret_value(), socket_timeout=5)
        return _client, _redis


@app.task(name=NAIVE_TASK, rate_limit=NAIVE_RATE_LIMIT, ignore_result=True)
def naive_send(destination: str, message: str) -> str:
    """Send one WhatsApp text with no pacing but Celery's per-worker rate limit."""
    client, counter = _resources()
    outcome = "error"
    try:
        client.send_whatsapp(destination, message, priority="bulk")
        outcome = "accepted"
    except RateLimited:
        outcome = "rate_limited"  # still 429 after the client's own retries
    except NusaWorkerError as exc:
        outcome = type(exc).__name__
    finally:
        counter.hincrby(outcomes_key(settings.key_prefix), outcome, 1)
    return outcome
