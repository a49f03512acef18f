"""The message ledger: one Redis record per message, and the only judge of whether to send.

The ledger knows Redis and nothing else (no Celery, no HTTP, no provider client). A task
moves a record through it like this::

    claim = ledger.claim(message_id)              # accepted → sending, fencing token
    if claim.may_send:
        gate.acquire(account)                     # fleet-wide pacing slot
        if ledger.begin_hit(message_id, claim.token):   # False: fenced out, do not send
            ...HTTP request...
            ledger.mark_sent(message_id, claim.token, ref_no, next_poll_at=...)
            # or mark_rejected / mark_failed / mark_unknown (token=claim.token),
            # or release(message_id, claim.token, error) to retry later

Redelivery policy
-----------------
Celery redelivers a task whose worker died (``acks_late``, ``reject_on_worker_lost``) or
whose visibility timeout ran out, so the same task may run twice, even at the same time.
The ledger reports what it finds; the task decides:

* ``CLAIMED`` — the normal case: send.
* ``TAKEN_OVER`` — the record was ``sending`` but its hit never started (``begin_hit`` was
  never called: the first worker died, or is still waiting at the gate). No hit happened,
  so sending is safe; the new token fences the first worker out, its ``begin_hit`` answers
  ``False`` and it does not send. "Never twice" holds even with both alive.
* ``IN_DOUBT`` — the record was ``sending`` with its hit started and no ``ref_no``: the hit
  may have reached the provider. For ``normal`` and ``bulk`` the task calls ``mark_unknown``
  and does not send (a duplicate marketing message is worse than a missing one). For ``otp``
  it MAY resend — configurable in the task, default resend, because a lost OTP is worse than
  a duplicate code: it claims again with ``take_in_doubt=True`` and gets a new token.
* ``NOT_CLAIMABLE`` — any other state (already sent, final, …): do nothing.
* ``EXPIRED`` — the record was past its validity and not sent: it is now ``expired``.

Redelivery by the broker is only the last resort. A claim made with ``holder=`` (the worker's
identity, :mod:`nusaworker.liveness`) is a lease: valid while that worker heartbeats. Once its
heartbeat key expires, beat resolves the records it held with the same policy — hit not started:
back to ``accepted`` and enqueued; started: ``unknown``, or resent for an OTP — and enqueues
again the tasks it had received (:mod:`nusaworker.ledger.leases`, :mod:`.recovery`).

Long delays (scheduled sends, slow retries) are kept in the ledger's own indexes, swept by
beat (:mod:`nusaworker.ledger.schedule` — the retry and expiry indexes —,
:meth:`Ledger.stuck_accepted`, :meth:`Ledger.due_for_poll`), never in Celery countdowns.
"""

from nusaworker.ledger.claim import Claim, ClaimOutcome
from nusaworker.ledger.errors import (
    CorruptRecord,
    Fenced,
    IllegalTransition,
    LedgerError,
    RecordNotFound,
)
from nusaworker.ledger.ids import new_message_id
from nusaworker.ledger.ledger import Ledger
from nusaworker.ledger.parked import ParkedUpdates, StatusUpdate
from nusaworker.ledger.record import MessageRecord, describe_error
from nusaworker.ledger.states import (
    FINAL_STATES,
    RANK,
    TRANSITIONS,
    MessageState,
    can_transition,
    predecessors,
)
from nusaworker.types import Priority

__all__ = [
    "FINAL_STATES",
    "RANK",
    "TRANSITIONS",
    "Claim",
    "ClaimOutcome",
    "CorruptRecord",
    "Fenced",
    "IllegalTransition",
    "Ledger",
    "LedgerError",
    "MessageRecord",
    "MessageState",
    "ParkedUpdates",
    "Priority",
    "RecordNotFound",
    "StatusUpdate",
    "can_transition",
    "describe_error",
    "new_message_id",
    "predecessors",
]
