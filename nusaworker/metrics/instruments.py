"""The counters and histograms of one process; every family of the fleet's own is named here.

    nusaworker_sends_total{channel,account,outcome}   one per provider call of a delivery
        attempt, by how the attempt ended: sent, retry, held, rejected, failed, unknown,
        expired, moved_on (another worker owns the record now)
    nusaworker_send_errors_total{channel,account,error}   the error class a call ended in
    nusaworker_retries_total{channel,account,kind}   transport (the client tries again within
        the attempt, each time through the gate) or ledger (the attempt is given back and
        beat releases it after a backoff)
    nusaworker_gate_wait_seconds{account,priority}    from asking the gate for a turn to
        "write now" (histogram; its count is the turns handed out)
    nusaworker_hits_total{account}                    hits reported written to the gate: what
        the provider received; rate() of it is the account's hits/s
    nusaworker_callbacks_total{route,status}          provider pushes the receiver answered

The labels are bounded by configuration (channels, accounts, priorities, error classes of the
taxonomy, routes of the receiver), never by data: no message id, destination or token.
Objects are created at import; their values are created at first use, by the value class in
force then — which is how a worker switches them to multiprocess files before the first task
(:func:`nusaworker.metrics.exposition.enable_multiprocess`).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from nusaworker.ledger import MessageState

__all__ = [
    "CALLBACKS",
    "GATE_WAIT",
    "HITS",
    "RETRIES",
    "SENDS",
    "SEND_ERRORS",
    "outcome_label",
]

SENDS = Counter(
    "nusaworker_sends",
    "Provider calls of delivery attempts, by how the attempt ended",
    ["channel", "account", "outcome"],
)
SEND_ERRORS = Counter(
    "nusaworker_send_errors",
    "Provider calls that ended in an error, by its class",
    ["channel", "account", "error"],
)
RETRIES = Counter(
    "nusaworker_retries",
    "Retries: transport (within an attempt) or ledger (a later attempt, released by beat)",
    ["channel", "account", "kind"],
)
# From a free account (a few ms: two Redis round trips) to a bulk send queued behind an OTP
# burst or a whole second of other workers' turns (20 hits/s per account).
GATE_WAIT = Histogram(
    "nusaworker_gate_wait_seconds",
    "Time a hit waited at the pacing gate for its turn",
    ["account", "priority"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
HITS = Counter(
    "nusaworker_hits",
    "Provider hits reported written to the pacing gate",
    ["account"],
)
CALLBACKS = Counter(
    "nusaworker_callbacks",
    "Provider pushes and other requests the callback receiver answered",
    ["route", "status"],
)


def outcome_label(
    state: MessageState | None, *, retry_at: float | None = None, held: bool = False
) -> str:
    """The ``outcome`` label of a delivery attempt from what :func:`deliver` answered."""
    if held:
        return "held"
    if retry_at is not None:
        return "retry"
    if state is None:
        return "unreadable"
    if state is MessageState.SENDING:
        return "moved_on"
    return state.value
