"""The NusaSMS provider: WhatsApp and SMS v3 (JSON API v1.0), WhatsApp Official.

Seeds 000 and 001 are its specification. ``from nusaworker.providers.nusasms import
NusaSMSClient`` (or ``from nusaworker.providers import NusaSMSClient``) is all a script needs.

Modules: ``client`` (:class:`NusaSMSClient`, one method per endpoint) · ``models/`` (request and
response models, one module per API) · ``envelope`` (the JSON API's ``{"error", "message",
"data"}`` envelope) · ``codes`` (every SMS v3 status code and its error class) · ``segments``
(how many SMS a text costs). The shared pieces — error taxonomy, transport, retry policy, the
``Gate`` protocol — are one level up, in :mod:`nusaworker.providers`.
"""

from ..family import ProviderFamily
from .client import CREDENTIALS, DEFAULT_BASE_URL, NusaSMSClient, account_fingerprint
from .models.official import (
    BroadcastRequest,
    Channel,
    OfficialSendResult,
    ReplyRequest,
    ReplyType,
    Template,
)
from .models.sms import (
    SmsCredits,
    SmsDeliveryReport,
    SmsGroupRequest,
    SmsGroupResult,
    SmsRequest,
    SmsSendResult,
)
from .models.wa import (
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
from .segments import SegmentInfo, count_segments, needs_unicode

# What the provider registry needs to build a client of this family from settings.
FAMILY = ProviderFamily(
    "nusasms",
    NusaSMSClient,
    credentials=CREDENTIALS,
    default_base_url=DEFAULT_BASE_URL,
    needs={"json": ("api_key",), "sms": ("sms_user", "sms_password")},
)

__all__ = [
    "CREDENTIALS",
    "DEFAULT_BASE_URL",
    "FAMILY",
    "Account",
    "Balance",
    "BroadcastRequest",
    "Channel",
    "NusaSMSClient",
    "OfficialSendResult",
    "PhoneCheckRequest",
    "PhoneCheckResult",
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
    "WhatsAppMediaRequest",
    "WhatsAppMessageRequest",
    "WhatsAppMessageStatus",
    "WhatsAppSendResult",
    "WhatsAppStatus",
    "account_fingerprint",
    "count_segments",
    "needs_unicode",
]
