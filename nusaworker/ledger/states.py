"""The state machine of a message record: which moves exist, and that none goes backwards.

::

            create
              │
              ▼
        ┌───────────┐
        │ accepted  ├──────────────────────────▶ rejected, aborted, expired
        └───────────┘
          claim │ ▲ release (the token holder; no hit, or one not processed)
                ▼ │
        ┌───────────┐
        │  sending  ├──────────────────────────▶ rejected, failed, expired
        └───────────┘
                │ └─── mark_unknown ───┐
                │                      ▼
                │                ┌───────────┐
                │                │  unknown  ├─▶ failed
                │                └───────────┘
                │                      │ a late answer resolves it:
      mark_sent │ ◀────────────────────┘ → sent, delivered or read
                ▼
        ┌───────────┐
        │   sent    ├──────────────────────────▶ failed, aborted, expired
        └───────────┘
                │ └───────────┐
                ▼             │
        ┌───────────┐         │
        │ delivered │         │
        └───────────┘         │
                │             │
                ▼             │
        ┌───────────┐         │
        │   read    │ ◀───────┘
        └───────────┘

Down the page is forward. rejected, aborted, failed and expired are dead ends.

Every edge, the source of truth (:data:`TRANSITIONS`)::

    accepted  → sending | rejected | aborted | expired
    sending   → sent | rejected | failed | unknown | expired
    sent      → delivered | read | failed | aborted | expired
    delivered → read
    unknown   → sent | delivered | read | failed
    read, failed, aborted, rejected, expired: no way out

``expired`` has two meanings that end the same way, "too late": a record not *sent* (its hit
not started) within its validity (``accepted``/``sending → expired``, by the claim, a release
or beat — never by a status update), and a sent record with no final status at the tracking
horizon (``sent → expired``). ``sending → failed`` is also where a retry budget ends.

Forward only: every edge climbs :data:`RANK`, so no sequence of updates can bring a record
back to an earlier state — a late ``sent`` never overwrites ``read``. A move that is not an
edge is a no-op, which is what makes late and out-of-order status updates harmless.

The one sanctioned step back is ``release`` (``sending → accepted``): only the worker holding
the claim token may take it, and only when its provider hit never started or is known not to
have been processed (a 429, a refused connection); it is not an edge of the graph and no
status update can take it.

*Final* (:attr:`MessageState.is_final`) means "the outcome is known; stop polling": the record
leaves the poll index and gets :data:`nusaworker.keys.RECORD_FINAL_TTL_S`. ``delivered`` is
final yet still accepts a late ``read`` (WhatsApp read receipts arrive after delivery).
"""

from __future__ import annotations

from enum import StrEnum


class MessageState(StrEnum):
    """Where a message is on its way; see the module docstring for the graph."""

    ACCEPTED = "accepted"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    ABORTED = "aborted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """Whether the outcome is known: no more polling, the record expires in a month."""
        return self in FINAL_STATES

    @property
    def is_terminal(self) -> bool:
        """Whether no move at all leaves this state."""
        return not TRANSITIONS[self]


S = MessageState

TRANSITIONS: dict[MessageState, frozenset[MessageState]] = {
    S.ACCEPTED: frozenset({S.SENDING, S.REJECTED, S.ABORTED, S.EXPIRED}),
    S.SENDING: frozenset({S.SENT, S.REJECTED, S.FAILED, S.UNKNOWN, S.EXPIRED}),
    S.SENT: frozenset({S.DELIVERED, S.READ, S.FAILED, S.ABORTED, S.EXPIRED}),
    S.DELIVERED: frozenset({S.READ}),
    S.UNKNOWN: frozenset({S.SENT, S.DELIVERED, S.READ, S.FAILED}),
    S.READ: frozenset(),
    S.FAILED: frozenset(),
    S.ABORTED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}

# How far along a state is. Every edge above climbs it (checked by the unit tests): that is
# the "never backwards" guarantee in a form a reader can verify at a glance.
RANK: dict[MessageState, int] = {
    S.ACCEPTED: 0,
    S.SENDING: 1,
    S.UNKNOWN: 2,
    S.SENT: 3,
    S.DELIVERED: 4,
    S.READ: 5,
    S.FAILED: 6,
    S.ABORTED: 6,
    S.REJECTED: 6,
    S.EXPIRED: 6,
}

FINAL_STATES: frozenset[MessageState] = frozenset(
    {S.DELIVERED, S.READ, S.FAILED, S.ABORTED, S.REJECTED, S.EXPIRED}
)

# States whose record gets the long TTL instead of living forever. ``unknown`` is not final
# (a late answer may still resolve it), but no worker will act on it again and it has no
# ref_no to poll by, so without a TTL it would stay in Redis forever.
EXPIRING_STATES: frozenset[MessageState] = FINAL_STATES | {S.UNKNOWN}

del S


def can_transition(current: MessageState | str, new: MessageState | str) -> bool:
    """Whether ``current → new`` is an edge of the graph (a self-move is not)."""
    return MessageState(new) in TRANSITIONS[MessageState(current)]


def predecessors(state: MessageState | str) -> frozenset[MessageState]:
    """Every state from which ``state`` may be reached in one move."""
    target = MessageState(state)
    return frozenset(src for src, dsts in TRANSITIONS.items() if target in dsts)
