"""Typed provider clients: request/response models, the error taxonomy, the pacing contract.

``from nusaworker.providers import NusaSMSClient`` is all a one-off script needs. This layer knows
HTTP, pydantic and tenacity, and calls a :class:`Gate` before every hit; it knows nothing of
Celery, Redis or the ledger.
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
from .models_official import (
    BroadcastRequest,
    Channel,
    OfficialSendResult,
    ReplyRequest,
    ReplyType,
    Template,
)
from .models_sms import (
    SmsCredits,
    SmsDeliveryReport,
    SmsGroupRequest,
    SmsGroupResult,
    SmsRequest,
    SmsSendResult,
)
from .models_wa import (
    Account,
    Balance,
    PhoneCheckRequest,
    PhoneCheckResult,
    WhatsAppMediaRequest,
    WhatsAppMessageRequest,
    WhatsAppMessageStatus,
    WhatsAppSendResult,
    WhatsAppStatus,
)
from .nusasms import NusaSMSClient, account_fingerprint
from .segments import SegmentInfo, count_segments, needs_unicode

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
