"""The NusaSMS emulation: JSON API v1.0 (account, balance, WhatsApp, phone check), WhatsApp
Official and SMS v3, as seeds 000 and 001 describe them.

Modules: ``wa`` / ``official`` / ``sms`` (the endpoints), ``jsonapi`` (APIKey checks and body
validation of the JSON API), ``segments`` (SMS segment counting, as SMS v3 bills). The shared
machinery — server, router, state, accounts, messages, pushes, faults, control — is one level
up, in :mod:`nusaworker.sandbox`; :data:`ROUTES` is what the server registers.
"""

from __future__ import annotations

from ..router import Route, route
from . import official, sms, wa

__all__ = ["API", "ROUTES"]

API = "/nusasms_api/1.0"
ROUTES: tuple[Route, ...] = (
    route("GET", f"{API}/auth/api_key", wa.auth_api_key, "read"),
    route("GET", f"{API}/balance", wa.balance, "read"),
    route("POST", f"{API}/whatsapp/message", wa.send_message, "send"),
    route("POST", f"{API}/whatsapp/media", wa.send_media, "send"),
    route("GET", f"{API}/whatsapp/status/{{ref_no}}", wa.message_status, "read"),
    route("POST", f"{API}/wa_phone_check", wa.phone_check, "other"),
    route("POST", f"{API}/wa_official/message/broadcast", official.broadcast, "send"),
    route("POST", f"{API}/wa_official/message/reply", official.reply, "send"),
    route("GET", f"{API}/wa_official/templates", official.templates, "read"),
    route("GET", f"{API}/wa_official/channels", official.channels, "read"),
    *(
        route("GET POST", f"/{root}/v3/sendsms/plain", sms.send_plain, "send")
        for root in ("api", "sms")
    ),
    *(
        route("GET POST", f"/{root}/v3/sendsms/group", sms.send_group, "send")
        for root in ("api", "sms")
    ),
    # Documented as GET only ("GET /sms/command", a URL with the login in it): a POST is 405.
    *(route("GET", f"/{root}/command", sms.command, "read") for root in ("api", "sms")),
)
