"""The SmartSwitch provider: a carrier's "HTTP API message" (JSON:API answers), seed 003.

``from nusaworker.providers.smartswitch import SmartSwitchClient`` is all a script needs.

Modules: ``client`` (:class:`SmartSwitchClient`: ``send_sms``, ``send_sms_batch``) ·
``models`` (the request, JSON:API answer models) · ``answer`` (answer → per-destination
results, or the whole hit's error) · ``results`` (:class:`DestinationResult`,
:class:`BatchResult`) · ``codes`` (error codes → the shared taxonomy) · ``redact`` (the
credentials ride in the query string: kept out of logs and exceptions) · ``pricing``
(segments). The shared pieces — error taxonomy, transport, retry policy, ``Gate`` — are one
level up, in :mod:`nusaworker.providers`.
"""

from ..family import ProviderFamily
from .client import (
    CREDENTIALS,
    DEFAULT_BASE_URL,
    PATH,
    SmartSwitchClient,
    account_fingerprint,
    new_request_ids,
)
from .codes import ERROR_CODES, error_class
from .models import MAX_DESTINATIONS, MessageRequest
from .pricing import estimate_cost, sms_cost
from .results import BatchResult, DestinationResult, Status

# What the provider registry needs to build a client of this family from settings.
FAMILY = ProviderFamily(
    "smartswitch",
    SmartSwitchClient,
    credentials=CREDENTIALS,
    default_base_url=DEFAULT_BASE_URL,
    # Seed 003: a DLR may be asked for (require_dlr), but nothing says how it comes back.
    reports_delivery=False,
    needs={"sms": ("login", "password")},
)

__all__ = [
    "CREDENTIALS",
    "DEFAULT_BASE_URL",
    "ERROR_CODES",
    "FAMILY",
    "MAX_DESTINATIONS",
    "PATH",
    "BatchResult",
    "DestinationResult",
    "MessageRequest",
    "SmartSwitchClient",
    "Status",
    "account_fingerprint",
    "error_class",
    "estimate_cost",
    "new_request_ids",
    "sms_cost",
]
