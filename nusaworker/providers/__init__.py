"""Provider clients, one subpackage per provider API, beside what every provider shares.

``from nusaworker.providers import NusaSMSClient`` is all a one-off script needs. This layer knows
HTTP, pydantic and tenacity, and calls a :class:`Gate` before every hit; it knows nothing of
Celery, Redis or the ledger.

Shared by every provider: ``errors`` (the taxonomy), ``classify`` (HTTP answers and ``requests``
exceptions → taxonomy), ``transport`` (one paced, retried ``hit()``), ``retry`` (the backoff and
retry decisions), ``gate`` (the pacing protocol), ``paced_http`` (the adapter that takes the
turn right before a request is written). One subpackage per provider: ``nusasms/`` (client,
models, SMS status codes, segments).
"""

from .errors import (
    AmbiguousOutcome,
    AuthError,
    InsufficientCredit,
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
)
from .gate import NULL_TURN, Gate, NoopGate, Priority, Turn
from .nusasms import (
    Account,
    Balance,
    BroadcastRequest,
    Channel,
    NusaSMSClient,
    OfficialSendResult,
    PhoneCheckRequest,
    PhoneCheckResult,
    ReplyRequest,
    ReplyType,
    SegmentInfo,
    SmsCredits,
    SmsDeliveryReport,
    SmsGroupRequest,
    SmsGroupResult,
    SmsRequest,
    SmsSendResult,
    Template,
    WhatsAppMediaRequest,
    WhatsAppMessageRequest,
    WhatsAppMessageStatus,
    WhatsAppSendResult,
    WhatsAppStatus,
    account_fingerprint,
    count_segments,
    needs_unicode,
)

__all__ = [
    "NULL_TURN",
    "Account",
    "AmbiguousOutcome",
    "AuthError",
    "Balance",
    "BroadcastRequest",
    "Channel",
    "Gate",
    "InsufficientCredit",
    "NoopGate",
    "NusaSMSClient",
    "OfficialSendResult",
    "PermanentError",
    "PhoneCheckRequest",
    "PhoneCheckResult",
    "Priority",
    "ProviderError",
    "RateLimited",
    "ReplyRequest",
    "ReplyType",
    "SegmentInfo",
    "SmsCredits",
    "SmsDeliveryReport",
    "SmsGroupRequest",
    "SmsGroupResult",
    "SmsRequest",
    "SmsSendResult",
    "Template",
    "TransientError",
    "Turn",
    "WhatsAppMediaRequest",
    "WhatsAppMessageRequest",
    "WhatsAppMessageStatus",
    "WhatsAppSendResult",
    "WhatsAppStatus",
    "account_fingerprint",
    "count_segments",
    "needs_unicode",
]
