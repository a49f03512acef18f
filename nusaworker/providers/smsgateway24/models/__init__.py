"""SmsGateway24 request models (``send``) and answer models (``answers``)."""

from .answers import (
    Answer,
    BulkResult,
    Device,
    DeviceList,
    MessageList,
    SendResult,
    SimInfo,
    SmsMessage,
    SmsStatus,
    TokenAnswer,
)
from .send import IMAGE_TYPES, WHATSAPP_SLOTS, BulkItem, Image, SendRequest, SimSlot, bulk_items

__all__ = [
    "IMAGE_TYPES",
    "WHATSAPP_SLOTS",
    "Answer",
    "BulkItem",
    "BulkResult",
    "Device",
    "DeviceList",
    "Image",
    "MessageList",
    "SendRequest",
    "SendResult",
    "SimInfo",
    "SimSlot",
    "SmsMessage",
    "SmsStatus",
    "TokenAnswer",
    "bulk_items",
]
