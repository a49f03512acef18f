"""The root of every exception nusaworker raises.

    NusaWorkerError
    ├── ConfigurationError          settings missing or inconsistent
    ├── GateUnavailable             pacing gate cannot hand out a slot (Redis down) — fail closed
    ├── ProviderError               (nusaworker.providers.errors): how a provider hit can fail
    │   ├── RateLimited             429
    │   ├── TransientError          5xx, connect errors, provider "general error" codes
    │   ├── PermanentError          400/404/422, invalid destination, spam limits …
    │   ├── AuthError               401/403, wrong SMS user/password, IP not whitelisted
    │   ├── InsufficientCredit      402, SMS -2 / -7
    │   └── AmbiguousOutcome        the request may have reached the provider, the answer did not
    ├── LedgerError                 (nusaworker.ledger.errors)
    │   ├── RecordNotFound          no record under that id
    │   ├── IllegalTransition       a move the state machine forbids
    │   └── Fenced                  a stale claim token: another worker owns the message

Every class carries ``retryable``: whether the same call may simply be made again later.
The decision to retry is made from the class alone.
"""

from __future__ import annotations


class NusaWorkerError(Exception):
    """Raised when anything in nusaworker fails; the root of the tree above."""

    retryable: bool = False


class ConfigurationError(NusaWorkerError):
    """Raised when settings are missing or contradict each other."""


class GateUnavailable(NusaWorkerError):
    """Raised when the pacing gate cannot hand out a slot; no hit is made (fail closed)."""

    retryable = True
