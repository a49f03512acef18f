"""Celery tasks of delivery tracking: thin glue around the poller, hooks and housekeeping.

Task names start with ``nusaworker.status.`` (queue ``status``) or
``nusaworker.housekeeping.`` (queue ``housekeeping``); :func:`nusaworker.routing.route_task`
routes them by name. The periodic ones are sent by beat (:mod:`nusaworker.tracking.schedule`)
and run under a per-run lock; each returns a small dict of what it did (for logs; results are
not stored).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nusaworker import container
from nusaworker.celery import app
from nusaworker.keys import WEBHOOK_DEAD_MAXLEN
from nusaworker.ledger.leases import Leases
from nusaworker.ledger.recovery import resolve_dead_holders
from nusaworker.routing import max_countdown
from nusaworker.tracking import fallback, housekeeping, release, schedule
from nusaworker.tracking.errors import WebhookFailed, WebhookRefused
from nusaworker.tracking.hooks import dispatch_events as _dispatch_events
from nusaworker.tracking.orphans import replay_orphans
from nusaworker.tracking.parts import Tracking
from nusaworker.tracking.webhook import WebhookResult, backoff_s, body_of, post_event

log = logging.getLogger(__name__)


def _tracking() -> Tracking:
    return container.current().tracking


@app.task(name="nusaworker.status.dispatch_polls")
def dispatch_polls() -> dict[str, Any]:
    """Hand out the due status polls of one tick (OTP first), within the poll budget."""
    t = _tracking()
    with t.jobs.run_once("dispatch_polls", schedule.DISPATCH_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        report = t.poller.dispatch(t.poll_quota(schedule.POLL_TICK_S), t.enqueue_poll)
    return {
        "dispatched": len(report.dispatched),
        "expired": report.expired,
        "unpollable": report.unpollable,
    }


@app.task(name="nusaworker.status.poll")
def poll(message_id: str) -> str:
    """Ask the provider about one sent message and record the answer."""
    t = _tracking()
    return t.poller.poll(message_id, client_for=t.client_for).result


@app.task(name="nusaworker.status.dispatch_events")
def dispatch_events() -> dict[str, Any]:
    """Hand new state changes and inbound messages on to the hooks."""
    t = _tracking()
    with t.jobs.run_once("dispatch_events", schedule.DISPATCH_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        budget = 0.8 * schedule.EVENTS_TICK_S
        handed = _dispatch_events(t.events, t.dispatcher, time_budget_s=budget)
    return {"handed": handed}


@app.task(name="nusaworker.housekeeping.webhook", bind=True, max_retries=None)
def webhook(self: Any, event: dict[str, Any]) -> str:
    """POST one event to the webhook, signed; retried with backoff, then kept as failed."""
    t = _tracking()
    settings = t.settings
    if not settings.webhook_url.get_secret_value():
        return WebhookResult.DISABLED
    if not settings.webhook_secret.get_secret_value():
        # An unsigned webhook could be forged by anyone who finds the URL: never send one.
        _dead_letter(
            event, "NUSAWORKER_WEBHOOK_SECRET is not set; unsigned webhooks are not sent", 0
        )
        return WebhookResult.REFUSED
    attempt = self.request.retries + 1
    try:
        post_event(
            t.webhook_session,
            settings.webhook_url.get_secret_value(),
            settings.webhook_secret,
            event,
            timeout_s=settings.webhook_timeout_s,
        )
    except WebhookRefused as exc:
        _dead_letter(event, str(exc), attempt)
        return WebhookResult.REFUSED
    except WebhookFailed as exc:
        if attempt >= settings.webhook_max_attempts:
            _dead_letter(event, str(exc), attempt)
            return WebhookResult.FAILED
        cap = max_countdown(settings.visibility_timeout_s)
        delay = backoff_s(attempt, base_s=settings.webhook_backoff_base_s, cap_s=cap)
        log.info("webhook attempt %d failed (%s); again in %.1fs", attempt, exc, delay)
        raise self.retry(countdown=delay) from None
    return WebhookResult.DELIVERED


def _dead_letter(event: dict[str, Any], reason: str, attempts: int) -> None:
    """Keep an event the webhook never took (capped list) for an operator to replay."""
    t = _tracking()
    event_id = event.get("event_id")
    log.error("webhook gave up on event %s after %d attempt(s): %s", event_id, attempts, reason)
    record = {"event": event, "reason": reason, "attempts": attempts, "at": time.time()}
    keys = t.ledger.keys
    pipe = t.ledger.redis.pipeline(transaction=False)
    pipe.lpush(keys.webhook_dead, body_of(record))
    pipe.ltrim(keys.webhook_dead, 0, WEBHOOK_DEAD_MAXLEN - 1)
    pipe.execute()


@app.task(name="nusaworker.housekeeping.replay")
def replay() -> dict[str, Any]:
    """Enqueue again the sends of records stuck in ``accepted`` (their task was lost)."""
    t = _tracking()
    with t.jobs.run_once("replay", schedule.HOUSEKEEPING_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        report = housekeeping.replay_stuck(
            t.ledger,
            older_than_s=t.settings.replay_after_s,
            period_s=schedule.REPLAY_PERIOD_S,
            enqueue=t.enqueue_send,
            is_paused=t.is_paused,
        )
    if report.replayed:
        log.warning("replayed %d record(s) stuck in accepted", len(report.replayed))
    return {"replayed": len(report.replayed), "paused": report.paused}


@app.task(name="nusaworker.housekeeping.orphans")
def orphans() -> dict[str, Any]:
    """Enqueue again, within seconds, the sends whose task the broker lost."""
    t = _tracking()
    with t.jobs.run_once("orphans", schedule.HOUSEKEEPING_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        report = replay_orphans(
            t.ledger,
            older_than_s=t.settings.orphan_after_s,
            period_s=schedule.ORPHANS_PERIOD_S,
            enqueue=t.enqueue_send,
            queue_size=_queue_size,
            received=Leases(t.ledger.redis, keys=t.ledger.keys).received_by_live_holders(),
            is_paused=t.is_paused,
        )
    if report.replayed:
        log.warning("re-enqueued %d record(s) whose task was lost", len(report.replayed))
    return {"replayed": len(report.replayed)}


def _queue_size(queue: str) -> int | None:
    """Tasks waiting on ``queue`` (every priority level), or ``None`` if it cannot be told."""
    # kombu's Redis channel counts a queue's messages over all its priority lists in _size.
    # Not queue_declare(passive=True): on Redis it answers NOT_FOUND for an empty queue, and
    # with a global_keyprefix for a full one too (kombu 5.7).
    try:
        with app.connection_for_read() as connection:
            size = getattr(connection.default_channel, "_size", None)
            return None if size is None else int(size(queue))
    except Exception as exc:  # a broker error: unknown, treated as busy
        log.debug("size of queue %s unknown: %s", queue, exc)
        return None


@app.task(name="nusaworker.housekeeping.expire")
def expire() -> dict[str, Any]:
    """Expire ``sent`` records past the tracking horizon."""
    t = _tracking()
    with t.jobs.run_once("expire", schedule.HOUSEKEEPING_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        expired = housekeeping.expire_overdue(
            t.ledger, horizon_s=t.settings.poll_horizon_s, now=t.ledger.clock()
        )
    return {"expired": expired}


@app.task(name="nusaworker.housekeeping.sweep_parked")
def sweep_parked() -> dict[str, Any]:
    """Apply parked status pushes whose record exists by now."""
    t = _tracking()
    with t.jobs.run_once("sweep_parked", schedule.HOUSEKEEPING_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        applied = housekeeping.sweep_parked(t.ledger)
    return {"applied": applied}


# -- dead workers (nusaworker.liveness, nusaworker.ledger.recovery) -----------------------------


@app.task(name="nusaworker.housekeeping.dead_workers")
def dead_workers() -> dict[str, Any]:
    """Resolve what workers whose heartbeat is gone held: claims and received sends."""
    t = _tracking()
    with t.jobs.run_once("dead_workers", schedule.DEAD_WORKERS_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        leases = Leases(t.ledger.redis, keys=t.ledger.keys)
        if not leases.heartbeats_trustworthy(t.settings.heartbeat_ttl_s):
            return {"skipped": True, "reason": "redis restarted within a heartbeat TTL"}
        report = resolve_dead_holders(
            t.ledger,
            leases,
            enqueue=t.enqueue_send,
            otp_resend_in_doubt=t.settings.otp_resend_in_doubt,
        )
    return {
        "dead": len(report.dead),
        "requeued": len(report.requeued),
        "resent": len(report.resent),
        "unknown": len(report.unknown),
        "received": len(report.received),
        "not_enqueued": len(report.not_enqueued),
    }


# -- the ledger's schedule (nusaworker.tracking.release) ----------------------------------------


@app.task(name="nusaworker.housekeeping.release_due")
def release_due() -> dict[str, Any]:
    """Enqueue the retries that are due; expire records that outlived their validity."""
    t = _tracking()
    with t.jobs.run_once("release_due", schedule.DISPATCH_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        now = t.ledger.clock()
        report = release.release_due(t.ledger, now=now, enqueue=t.enqueue_send)
        expired = release.expire_waiting(t.ledger, now=now)
    return {
        "released": report.released,
        "expired": report.expired + expired,
        "dropped": report.dropped,
    }


@app.task(name="nusaworker.housekeeping.fallbacks")
def fallbacks() -> dict[str, Any]:
    """Send the fallback SMS of messages not delivered in time."""
    t = _tracking()
    with t.jobs.run_once("fallbacks", schedule.DISPATCH_LOCK_TTL_S) as mine:
        if not mine:
            return {"skipped": True}
        report = fallback.run_fallbacks(t.ledger, enqueue=t.enqueue_send, now=t.ledger.clock())
    return {"sent": report.sent, "not_needed": report.not_needed}
