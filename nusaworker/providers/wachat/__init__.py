"""The WAChat provider: WAChat API v1.0, a sibling WhatsApp gateway of NusaSMS (seed 002).

``from nusaworker.providers.wachat import WAChatClient`` is all a script needs.

Modules: ``client`` (:class:`WAChatClient`, one method per endpoint) · ``models`` (request and
response models) · ``status`` (the U/Q/S/D/R/A status letters) · ``inbox`` (the inbox push a
Push URL receives, and its parser) · ``codes`` (each HTTP answer and its error class). WAChat
shares NusaSMS's JSON envelope and model bases (:mod:`..nusasms.models.common`,
:mod:`..nusasms.envelope`). The document states no prices, so there is no ``pricing``: what a
gateway may still send is its ``limit - counter`` (:meth:`WAChatClient.get_gateway_balance`).
"""

from ..family import ProviderFamily
from .client import API, CREDENTIALS, DEFAULT_BASE_URL, WAChatClient, account_fingerprint
from .inbox import WAChatInbox, parse_inbox
from .models import (
    GatewayBalance,
    WAChatAccount,
    WAChatMediaRequest,
    WAChatMessageRequest,
    WAChatMessageStatus,
    WAChatSendResult,
)
from .status import WAChatStatus

# What the provider registry needs to build a client of this family from settings.
FAMILY = ProviderFamily(
    "wachat",
    WAChatClient,
    credentials=CREDENTIALS,
    default_base_url=DEFAULT_BASE_URL,
    needs={"json": ("api_key",)},
)

__all__ = [
    "API",
    "CREDENTIALS",
    "DEFAULT_BASE_URL",
    "FAMILY",
    "GatewayBalance",
    "WAChatAccount",
    "WAChatClient",
    "WAChatInbox",
    "WAChatMediaRequest",
    "WAChatMessageRequest",
    "WAChatMessageStatus",
    "WAChatSendResult",
    "WAChatStatus",
    "account_fingerprint",
    "parse_inbox",
]
