"""The SmsGateway24 emulation (seed 004): an Android phone gateway's API under ``/getdata/``.

Modules: ``endpoints`` (login, one message with or without an image, bulk, status, devices,
message list) · ``lists`` (tags, contacts, newsletters) · ``store`` (what an account holds:
login, phones, tokens, messages — in ``Account.other["smsgateway24"]``, so ``reset`` restores
it) · ``control`` (expire tokens, force a status, … for tests and ``/_sandbox/smsgateway24``).

Its routes are exempt from the 50 ms gap rule (``paced=False``): a phone gateway paces each
phone by the phone's own delays, which the emulation plays by queueing messages per phone.
They resolve their own account (a token, or an e-mail and password), and are logged and
faulted like every provider hit. Only ``gettoken`` and ``addsms`` are named by the document;
the other paths are the provider's public ones, which the client takes as configurable
defaults.
"""

from __future__ import annotations

from ..router import Handler, Route, route
from . import endpoints, lists
from .control import SmsGateway24Control, handle_control

__all__ = ["BASE", "ROUTES", "SmsGateway24Control", "handle_control"]

BASE = "/getdata"


def _route(name: str, handler: Handler, kind: str) -> Route:
    return route(
        "GET POST", f"{BASE}/{name}", handler, kind, resolve=endpoints.resolve, paced=False
    )


ROUTES: tuple[Route, ...] = (
    _route("gettoken", endpoints.gettoken, "read"),
    _route("addsms", endpoints.addsms, "send"),
    _route("addalotofsms", endpoints.addalotofsms, "send"),
    _route("getsmsstatus", endpoints.getsmsstatus, "read"),
    _route("getalldevices", endpoints.getalldevices, "read"),
    _route("getallsms", endpoints.getallsms, "read"),
    _route("savetag", lists.savetag, "other"),
    _route("savecontact", lists.savecontact, "other"),
    _route("savepaket", lists.savepaket, "other"),
)
