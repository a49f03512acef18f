"""Provider clients, one subpackage per provider API, beside what every provider shares.

``from nusaworker.providers import NusaSMSClient`` is all a one-off script needs. This layer knows
HTTP, pydantic and tenacity, and calls a :class:`Gate` before every hit; it knows nothing of
Celery, Redis or the ledger.

Shared by every provider: ``errors`` (the taxonomy), ``classify`` (HTTP answers and ``requests``
exceptions → taxonomy; the strict JSON reader), ``transport`` (one paced, retried ``hit()``),
``bounded`` (an answer's body read within 4 MiB and the read timeout), ``fields`` (the shape
of the ids and status words the fleet keeps), ``retry`` (the backoff and retry decisions),
``gate`` (the pacing protocol), ``paced_http`` (the adapter that takes the turn right before a
request is written), ``family`` (what a provider family is) and
``registry`` (the families by name: :data:`PROVIDERS`, :func:`build_client`).
One subpackage per provider: ``nusasms/`` (client, models, SMS status codes, segments),
``smsgateway24/`` (Android phone gateway: client, token cache, models, status codes).

Adding a provider (say WAChat, seed 002):

1. ``providers/wachat/``: a client class, a :class:`~.base.TransportClient` (its transport,
   ``base_url``, ``close()``, the context manager, a repr without credentials) that takes the
   common keywords (``base_url``, ``gate``, ``account``, ``connect_timeout``,
   ``read_timeout``) plus its credential keywords and sets its ``account`` (the pacing
   fingerprint) before ``_connect(...)``; its models; a table from its
   own error codes to the classes of ``errors``; and, in its ``__init__``, its
   ``FAMILY = ProviderFamily("wachat", WAChatClient, credentials=(…), default_base_url=…)``.
2. One entry in :data:`~.registry.PROVIDERS`: ``wachat.FAMILY``.
3. Its emulation in ``nusaworker/sandbox/wachat/``, with one line where the sandbox registers
   routes, so its tests run over real HTTP.
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
from .family import ProviderClient, ProviderFamily
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
from .registry import PROVIDERS, build_client, provider_family
from .smartswitch import SmartSwitchClient
from .smsgateway24 import SmsGateway24Client
from .wachat import WAChatClient

__all__ = [
    "NULL_TURN",
    "PROVIDERS",
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
    "ProviderClient",
    "ProviderError",
    "ProviderFamily",
    "RateLimited",
    "ReplyRequest",
    "ReplyType",
    "SegmentInfo",
    "SmartSwitchClient",
    "SmsCredits",
    "SmsDeliveryReport",
    "SmsGateway24Client",
    "SmsGroupRequest",
    "SmsGroupResult",
    "SmsRequest",
    "SmsSendResult",
    "Template",
    "TransientError",
    "Turn",
    "WAChatClient",
    "WhatsAppMediaRequest",
    "WhatsAppMessageRequest",
    "WhatsAppMessageStatus",
    "WhatsAppSendResult",
    "WhatsAppStatus",
    "account_fingerprint",
    "build_client",
    "count_segments",
    "needs_unicode",
    "provider_family",
]
