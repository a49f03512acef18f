"""Driving the WAChat emulation from a test or over HTTP: accounts, gateways, inbox pushes.

``Sandbox.wachat`` is a :class:`WAChatDriver`; ``/_sandbox/wachat/{action}`` is
:func:`control` (one entry in the control surface):

================================ =============================================================
``POST /_sandbox/wachat/account`` ``{"account", "api_key", "senders": {sender: limit|null},
                                  "userid", "push_url"}``: add (or give a WAChat key to) an
                                  account
``GET|POST /_sandbox/wachat/sender`` ``{"account", "sender", "limit", "counter"}``: a
                                  gateway's quota (GET: ``?account=&sender=``)
``POST /_sandbox/wachat/inbox``   ``{"account", "originator", "text", "gateway_number"}``:
                                  push an incoming message to the account's Push URL
================================ =============================================================

The inbox push is what the document shows (a form POST of ``id, gateway_number, originator,
receive_date, msg``); it goes to the account's ``push_url``, else to
``{callback_url}/wachat/inbox``, else nowhere.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..accounts import Account
from ..callbacks import form_push, join_url
from ..messages import format_plain
from ..router import Ctx
from ..wire import Request, Response, json_response
from .accounts import DEFAULT_ACCOUNT, PROVIDER, gateway_view, new_profile, profile

INBOX_PATH = "/wachat/inbox"
_KEEP = object()  # "leave unchanged" for set_sender's limit (None means "no limit")


class WAChatDriver:
    """The Python control API of the WAChat emulation (``Sandbox.wachat``)."""

    def __init__(self, ctx: Ctx) -> None:
        self._ctx = ctx

    def add_account(
        self,
        name: str = DEFAULT_ACCOUNT,
        *,
        api_key: str,
        senders: Mapping[str, int | None] | None = None,
        userid: str | None = None,
        push_url: str | None = None,
    ) -> None:
        """Give account ``name`` (created if new: its own rate clock and counters) a WAChat
        key and gateways (``{sender: limit}``; ``None`` limit = unlimited; default: two
        gateways of 1000). It becomes part of what ``reset`` restores."""
        state = self._ctx.state
        part = new_profile(
            api_key,
            senders=None if senders is None else dict(senders),
            userid=userid,
            push_url=push_url,
        )
        with state.lock:
            found = state.accounts.get(name)
            account = found.copy() if found is not None else Account(name=name, api_key=None)
            account.other[PROVIDER] = part
            state.add_account(account)

    def set_sender(
        self,
        sender: str,
        *,
        limit: Any = _KEEP,
        counter: int | None = None,
        account: str = DEFAULT_ACCOUNT,
    ) -> dict[str, Any]:
        """Add or change a gateway's quota (``limit=None``: unlimited); its ``WAGateway`` view."""
        state = self._ctx.state
        with state.lock:
            target = state.account(account)
            part = profile(target)
            if part is None:
                raise KeyError(account)
            gateway = part["senders"].setdefault(sender, {"counter": 0, "limit": None})
            if limit is not _KEEP:
                gateway["limit"] = None if limit is None else int(limit)
            if counter is not None:
                gateway["counter"] = int(counter)
            return gateway_view(target, sender, gateway)

    def sender(self, sender: str, *, account: str = DEFAULT_ACCOUNT) -> dict[str, Any] | None:
        """A gateway's ``WAGateway`` view, or ``None`` when the account has no such sender."""
        state = self._ctx.state
        with state.lock:
            target = state.account(account)
            gateway = (profile(target) or {}).get("senders", {}).get(sender)
            return None if gateway is None else gateway_view(target, sender, gateway)

    def set_push_url(self, url: str | None, *, account: str = DEFAULT_ACCOUNT) -> None:
        """Set the account's Push URL (the provider's web-app setting; ``None``: the default)."""
        state = self._ctx.state
        with state.lock:
            part = profile(state.account(account))
            if part is None:
                raise KeyError(account)
            part["push_url"] = url

    def push_inbox(
        self,
        originator: str,
        text: str,
        *,
        gateway_number: str | None = None,
        account: str = DEFAULT_ACCOUNT,
    ) -> dict[str, Any]:
        """Simulate an incoming WhatsApp message to one of the account's gateways."""
        state = self._ctx.state
        with state.lock:
            part = profile(state.account(account))
            if part is None:
                raise KeyError(account)
            gateway = gateway_number or next(iter(part["senders"]), "")
            base = state.callback_url
            target = part.get("push_url") or (join_url(base, INBOX_PATH) if base else None)
        payload = {
            "id": state.new_ref_no(),
            "gateway_number": gateway,
            "originator": originator,
            "receive_date": format_plain(time.time()),
            "msg": text,
        }
        if target:
            self._ctx.pusher.submit(form_push(target, payload))
        return {"pushed": bool(target), "payload": payload}


def _body(req: Request) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    data = json.loads(req.body)  # a JSONDecodeError is a ValueError: 400
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def control(ctx: Ctx, req: Request, params: dict[str, str]) -> Response:
    """``/_sandbox/wachat/{action}``: ``account``, ``sender``, ``inbox`` (see the module doc).

    ``ValueError``/``TypeError`` become 400 and an unknown account 404 (the control surface's
    own rules).
    """
    driver = WAChatDriver(ctx)
    action = params["action"]
    body: dict[str, Any] = dict(req.query)
    if req.method == "POST":
        body.update(_body(req))
    name = str(body.pop("account", DEFAULT_ACCOUNT))
    if action == "account" and req.method == "POST":
        api_key = body.get("api_key")
        if not isinstance(api_key, str) or not api_key:
            raise ValueError("api_key is required")
        senders = body.get("senders")
        if senders is not None and not isinstance(senders, dict):
            raise ValueError("senders must be an object: {sender: limit or null}")
        driver.add_account(
            name,
            api_key=api_key,
            senders=senders,
            userid=body.get("userid"),
            push_url=body.get("push_url"),
        )
        return json_response(200, {"account": name, "senders": driver_senders(ctx, name)})
    if action == "sender" and "sender" in body:
        sender = str(body["sender"])
        if req.method == "GET":
            view = driver.sender(sender, account=name)
            return json_response(404 if view is None else 200, view or {"error": "no such sender"})
        changes: dict[str, Any] = {"counter": body.get("counter")}
        if "limit" in body:
            changes["limit"] = body["limit"]
        return json_response(200, driver.set_sender(sender, account=name, **changes))
    if action == "inbox" and req.method == "POST":
        originator, text = body.get("originator"), body.get("text")
        if not isinstance(originator, str) or not isinstance(text, str):
            raise ValueError("originator and text are required strings")
        gateway = body.get("gateway_number")
        return json_response(
            200, driver.push_inbox(originator, text, gateway_number=gateway, account=name)
        )
    raise ValueError(f"unknown WAChat control request: {req.method} {action}")


def driver_senders(ctx: Ctx, name: str) -> list[dict[str, Any]]:
    """Every gateway of an account, as ``WAGateway`` views."""
    with ctx.state.lock:
        account = ctx.state.account(name)
        senders = (profile(account) or {}).get("senders", {})
        return [gateway_view(account, s, g) for s, g in senders.items()]
