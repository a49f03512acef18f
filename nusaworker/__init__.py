"""nusaworker: an outbound WhatsApp/SMS messaging worker for NusaSMS-style provider APIs.

The producer API is importable from here::

    import nusaworker
    message_id = nusaworker.send_whatsapp("6281234567890", "Hello")
    nusaworker.get_message(message_id).state

It is loaded lazily, so ``from nusaworker.providers import NusaSMSClient`` stays free of
Celery and Redis.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_PRODUCER_API = (
    "send_whatsapp",
    "send_whatsapp_media",
    "send_sms",
    "send_sms_group",
    "submit",
    "send_wa_official_broadcast",
    "send_wa_official_reply",
    "check_whatsapp_numbers",
    "phone_check_results",
    "get_message",
    "is_suppressed",
    "suppress",
    "unsuppress",
    "Producer",
)

__all__ = ["__version__", *_PRODUCER_API]


def __getattr__(name: str) -> Any:
    if name in _PRODUCER_API:
        from nusaworker import producer

        return getattr(producer, name)
    raise AttributeError(f"module 'nusaworker' has no attribute {name!r}")
