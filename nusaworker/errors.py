"""The root of every exception nusaworker raises, and the whole tree of them.

Every exception class defined in nusaworker's product code derives from
:class:`NusaWorkerError` and appears below with the module that defines it; ``R`` marks the
classes that are ``retryable``. ``tests/unit/test_errors_tree.py`` checks this tree against
the code (names, parents, modules, ``retryable``). The modules' own docstrings say more about
each branch (:mod:`nusaworker.providers.errors`: the HTTP status table)::

    NusaWorkerError               nusaworker.errors                the root
    ├── ConfigurationError        nusaworker.errors                settings missing or inconsistent
    ├── GateUnavailable         R nusaworker.errors                no pacing slot (Redis down)
    ├── EnqueueError            R nusaworker.producer              recorded, not handed to broker
    ├── FallbackError             nusaworker.producer              a fallback the message can't have
    ├── UnknownChannel            nusaworker.channels              not a row of the channel table
    ├── UsageError                nusaworker.cli                   a command's arguments clash
    ├── CampaignUsageError        nusaworker.cli_campaign          … of a campaign command
    ├── InvalidNumber             nusaworker.suppression           not a number the list can keep
    ├── UnknownRegion             nusaworker.phones                not a region phonenumbers knows
    ├── InvalidPhoneNumber        nusaworker.errors                a national number, not valid
    ├── PhoneCheckError           nusaworker.phonecheck            a phone-check request refused
    │   ├── InvalidCheckNumber    nusaworker.phonecheck            not 8-14 digits
    │   └── UnknownCheck          nusaworker.phonecheck            no such check id (or expired)
    ├── ProviderError             nusaworker.providers.errors      a provider hit failed
    │   ├── RateLimited         R nusaworker.providers.errors      429
    │   ├── TransientError      R nusaworker.providers.errors      5xx, connect, general error
    │   ├── PermanentError        nusaworker.providers.errors      400/422, invalid destination
    │   ├── AuthError             nusaworker.providers.errors      401/403, IP not whitelisted
    │   ├── InsufficientCredit    nusaworker.providers.errors      402, SMS -2 / -7
    │   └── AmbiguousOutcome      nusaworker.providers.errors      sent? the answer was lost
    ├── LedgerError               nusaworker.ledger.errors         the ledger refuses
    │   ├── RecordNotFound        nusaworker.ledger.errors         no record under that id
    │   ├── CorruptRecord         nusaworker.ledger.errors         a record that cannot be read
    │   ├── IllegalTransition     nusaworker.ledger.errors         a move the states forbid
    │   └── Fenced                nusaworker.ledger.errors         stale claim token
    ├── TrackingError             nusaworker.tracking.errors       delivery tracking failed
    │   ├── PollBudgetTimeout   R nusaworker.tracking.errors       no poll budget in time
    │   ├── PushRejected          nusaworker.tracking.errors       a bad callback request (4xx)
    │   ├── RequeueRefused        nusaworker.tracking.errors       a dead letter kept from a resend
    │   ├── _MethodNotAllowed     nusaworker.tracking.callbacks    a callback's method (405)
    │   └── WebhookFailed       R nusaworker.tracking.errors       the webhook did not take it
    │       └── WebhookRefused    nusaworker.tracking.errors       … and never will (4xx)
    ├── AlertDeliveryError      R nusaworker.credit.errors         an alert sink failed
    ├── CampaignError             nusaworker.campaigns.errors      a campaign operation refused
    │   ├── CampaignInputError    nusaworker.campaigns.errors      a campaign's input refused
    │   ├── CampaignRefused       nusaworker.campaigns.errors      the pre-flight: balance short
    │   ├── RecurringNameTaken    nusaworker.campaigns.recurring   a recurring name already taken
    │   └── UnknownCampaign       nusaworker.campaigns.errors      no such campaign
    └── _Retryable              R nusaworker.credit.sinks.webhook  an alert webhook try failed

``retryable`` is a class attribute of every class: whether the same call may simply be made
again later. The decision to retry is made from the class alone. The two classes whose names
start with ``_`` never leave their module (the callback receiver answers 405; the alert
webhook sink retries, then raises :class:`~nusaworker.credit.errors.AlertDeliveryError`).
"""

from __future__ import annotations


class NusaWorkerError(Exception):
    """Raised when anything in nusaworker fails; the root of the tree above."""

    retryable: bool = False


class ConfigurationError(NusaWorkerError):
    """Raised when settings are missing or contradict each other."""

    retryable = False


class GateUnavailable(NusaWorkerError):
    """Raised when the pacing gate cannot hand out a slot; no hit is made (fail closed)."""

    retryable = True


class InvalidPhoneNumber(NusaWorkerError, ValueError):
    """Raised when a number handed to the producer, the CLI or a phone check cannot be put in
    the provider's form (a national number that is not valid in the default region).

    Defined here rather than in :mod:`nusaworker.phones` so that the CLI can answer it without
    importing phonenumbers, which every command would then pay for at start."""

    retryable = False
