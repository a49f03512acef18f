"""The SmsGateway24 provider: Android phones as SMS / WhatsApp / RCS gateways (seed 004).

``from nusaworker.providers.smsgateway24 import SmsGateway24Client`` (or ``from
nusaworker.providers import SmsGateway24Client``) is all a script needs.

Modules: ``client`` (:class:`SmsGateway24Client`, one method per call) · ``tokens`` (the
token fetched from e-mail and password, kept and renewed once when refused) · ``answer`` (the
``{"error": 0|1, "message"}`` frame of every answer) · ``codes`` (status codes → final states,
refusals → the error taxonomy) · ``endpoints`` (the paths: two documented, the rest
configurable defaults) · ``models/`` (what is sent, what comes back). The shared pieces — error
taxonomy, transport, retry policy, the ``Gate`` protocol — are one level up, in
:mod:`nusaworker.providers`.
"""

from ..family import ProviderFamily
from .client import CREDENTIALS, DEFAULT_BASE_URL, SmsGateway24Client, account_fingerprint
from .codes import DELIVERED, SENDING, STATUS_CODES, FinalState, final_state
from .endpoints import Endpoints
from .models import (
    BulkItem,
    BulkResult,
    Device,
    Image,
    MessageList,
    SendResult,
    SimInfo,
    SimSlot,
    SmsMessage,
    SmsStatus,
)

# What the provider registry needs to build a client of this family from settings.
FAMILY = ProviderFamily(
    "smsgateway24",
    SmsGateway24Client,
    credentials=CREDENTIALS,
    default_base_url=DEFAULT_BASE_URL,
)

__all__ = [
    "CREDENTIALS",
    "DEFAULT_BASE_URL",
    "DELIVERED",
    "FAMILY",
    "SENDING",
    "STATUS_CODES",
    "BulkItem",
    "BulkResult",
    "Device",
    "Endpoints",
    "FinalState",
    "Image",
    "MessageList",
    "SendResult",
    "SimInfo",
    "SimSlot",
    "SmsGateway24Client",
    "SmsMessage",
    "SmsStatus",
    "account_fingerprint",
    "final_state",
]
