"""Delivering one message: the logic behind the ``send`` task, free of Celery.

    claim (accepted → sending) ─▶ gate slot ─▶ fence (begin_hit) ─▶ provider hit ─▶ record

What each outcome does to the record:

    provider accepted      → sent (ref_no), polled later
    PermanentError         → rejected, with the reason
    AuthError, credit      → the channel's circuit breaker opens (fleet-wide, one alert) and the
                             message is held: accepted, re-enqueued when the channel resumes
    RateLimited, Transient → retried later (the provider did not process it): back to accepted,
                             on the ledger's retry index; or, past its budget, failed (the last
                             reason), past its validity, expired — see nusaworker.retries
    GateUnavailable        → the same (no hit was made)
    AmbiguousOutcome       → unknown (the hit may have reached the provider; never resent)
    Fenced                 → nothing: another worker owns the message now

The task ends in every case: a retry is released by beat from the ledger, never by a Celery
countdown. A record past its validity is never claimed: the claim moves it to ``expired``.

A message whose channel is paused (its breaker is open: :mod:`nusaworker.credit`) is neither
claimed nor sent: it is held in the ledger (``accepted``, with a ``retry_at``) and the task
ends; nothing is failed for a pause. Without a circuit (``circuit=None``) auth and credit
errors are retried later like transient ones, within the budget.

A redelivered task (its first worker died) finds the record in ``sending``. If the first
attempt never started its hit, this one takes over and sends. If it had started, the outcome
is in doubt: OTPs are resent when ``otp_resend_in_doubt`` is on (a duplicate code beats a lost
one); everything else ends ``unknown``.

The package, decisions apart from effects:

    decide.py    the pure decision table (claim outcome, pause, error met → Action)
    execute.py   deliver(): performs each Action against the ledger and the channel guard
    guard.py     ChannelGuard, the protocol the credit circuit satisfies (no feature import)

The client call that sends a record is its channel's (:mod:`nusaworker.channels`).
"""

from nusaworker.delivery.decide import Action, Failure
from nusaworker.delivery.execute import FIRST_POLL_AFTER_S, Outcome, deliver
from nusaworker.delivery.guard import ChannelGuard

__all__ = [
    "FIRST_POLL_AFTER_S",
    "Action",
    "ChannelGuard",
    "Failure",
    "Outcome",
    "deliver",
]
