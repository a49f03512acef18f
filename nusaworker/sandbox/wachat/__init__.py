"""The WAChat emulation: WAChat API v1.0 (seed 002), a sibling WhatsApp gateway of NusaSMS.

Served on the same port as every provider, under ``/wachat_api/1.0``. Its accounts carry their
WAChat key in ``Account.other["wachat"]`` and are found by :func:`.accounts.resolve` (the
routes' ``resolve=`` hook), never by NusaSMS's APIKey lookup. The document states no rate rule,
so its routes are exempt from the gap rule (``paced=False``): hits are logged and their gaps
measured, never refused for it. Faults and the hit log apply as to every provider route.

Modules: ``endpoints`` (the five endpoints) · ``accounts`` (key lookup, gateways and quotas)
· ``paths`` (the U/Q/S/D/R/A status paths) · ``driver`` (``Sandbox.wachat`` and
``/_sandbox/wachat/…``: accounts, quotas, inbox pushes).
"""

from __future__ import annotations

from ..router import Handler, Route, route
from . import endpoints
from .accounts import resolve
from .driver import WAChatDriver, control

__all__ = ["API", "ROUTES", "WAChatDriver", "control"]

API = "/wachat_api/1.0"


def _route(methods: str, path: str, handler: Handler, kind: str) -> Route:
    return route(methods, API + path, handler, kind, resolve=resolve, paced=False)


ROUTES: tuple[Route, ...] = (
    _route("GET", "/auth/api_key", endpoints.auth_api_key, "read"),
    _route("GET", "/sender/{sender}", endpoints.gateway_balance, "read"),
    _route("POST", "/message", endpoints.send_message, "send"),
    _route("POST", "/media", endpoints.send_media, "send"),
    _route("GET", "/status/{ref_no}", endpoints.message_status, "read"),
    _route("GET", "/status/", endpoints.status_without_ref_no, "read"),
)
