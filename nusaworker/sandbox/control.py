"""The control surface under ``/_sandbox/`` (no auth, never a hit, never faulted).

=============================== ==============================================================
``GET  /_sandbox/stats``        hits, violations, min gap, accepted sends, per account, by status
``GET  /_sandbox/hits``         the hit log (``?account=main&kind=send`` filter)
``POST /_sandbox/reset``        forget hits/messages; restore balances, flags, faults, callback,
                                rate rule (everything to its start value)
``GET|POST /_sandbox/faults``   the :class:`FaultProfile` (POST replaces it; absent fields = 0)
``POST /_sandbox/balance``      ``{"wa": x, "sms": y, "account": "main"}``
``POST /_sandbox/account``      ``{"account", "revoked", "ip_whitelisted", "expired"}``; with
                                ``api_key``/``sms_user``/``sms_password`` an unknown name is created
``GET|POST /_sandbox/callback`` ``{"url": ...}`` (``null`` switches pushes off)
``POST /_sandbox/rate``         ``{"min_interval_ms": 50, "enforce": true}``
``GET  /_sandbox/messages[/{ref_no}]`` internal view of accepted messages
``POST /_sandbox/inbox``        ``{"channel": "wa"|"wa_official"|"sms", "sender", "text"}`` → push
``GET|POST /_sandbox/smartswitch`` SmartSwitch standing of an account (see ``smartswitch.control``)
``POST /_sandbox/smsgateway24`` ``{"action": …}``: SmsGateway24 logins, token expiry, statuses
=============================== ==============================================================
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from . import smsgateway24, wachat
from .accounts import Account
from .callbacks import form_push, join_url, json_push
from .faults import FaultProfile
from .messages import format_plain
from .router import Ctx, Router, route
from .smartswitch import control as smartswitch_control
from .wire import Request, Response, json_response

INBOX_CHANNELS = ("wa", "wa_official", "sms")
GATEWAY_NUMBER = "6281100000009"
ACCOUNT_FLAGS = ("revoked", "ip_whitelisted", "expired")


class ControlError(Exception):
    """Raised when a control request is malformed (answered 400)."""

    retryable = False


def _body(req: Request) -> dict[str, Any]:
    if not req.body.strip():
        return {}
    try:
        data = json.loads(req.body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ControlError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError("body must be a JSON object")
    return data


# -- operations shared by the HTTP control surface and the Python API ---------------------------


def reset(ctx: Ctx) -> None:
    """Forget hits, messages and pending pushes; restore start values."""
    ctx.pusher.clear()
    ctx.state.reset()


def set_balance(ctx: Ctx, account: str, *, wa: float | None, sms: float | None) -> dict[str, Any]:
    """Set an account's balances (``None`` leaves one unchanged)."""
    with ctx.state.lock:
        target = ctx.state.account(account)
        if wa is not None:
            target.wa_balance = float(wa)
        if sms is not None:
            target.sms_balance = float(sms)
        return target.public_view()


def set_account(ctx: Ctx, name: str, **changes: Any) -> dict[str, Any]:
    """Change an account's flags; create it when credentials for a new name are given."""
    state = ctx.state
    with state.lock:
        if name not in state.accounts:
            if not (changes.get("api_key") or changes.get("sms_user")):
                raise KeyError(name)
            state.add_account(
                Account(
                    name=name,
                    api_key=changes.get("api_key"),
                    sms_user=changes.get("sms_user"),
                    sms_password=changes.get("sms_password"),
                    wa_balance=float(changes.get("wa_balance", 1_000_000.0)),
                    sms_balance=float(changes.get("sms_balance", 1_000_000.0)),
                )
            )
        account = state.account(name)
        for flag in ACCOUNT_FLAGS:
            if changes.get(flag) is not None:
                setattr(account, flag, bool(changes[flag]))
        return account.public_view()


def push_inbox(
    ctx: Ctx, channel: str, sender: str, text: str, *, room_id: str | None = None
) -> dict[str, Any]:
    """Simulate an incoming message: push it to the inbox callback of ``channel``."""
    if channel not in INBOX_CHANNELS:
        raise ControlError(f"channel must be one of {', '.join(INBOX_CHANNELS)}")
    base = ctx.state.callback_url
    ref_no = ctx.state.new_ref_no()
    when = format_plain(time.time())
    if channel == "wa_official":
        payload: dict[str, Any] = {
            "room_id": room_id or str(uuid.uuid4()),
            "ref_no": ref_no,
            "text": text,
            "inbox_date": when,
            "sender_number": sender,
        }
        if base:
            ctx.pusher.submit(json_push(join_url(base, "/wa_official/inbox"), payload))
    else:
        payload = {
            "id": ref_no,
            "gateway_number": GATEWAY_NUMBER,
            "originator": sender,
            "receive_date": when,
            "msg": text,
        }
        if base:
            ctx.pusher.submit(form_push(join_url(base, f"/{channel}/inbox"), payload))
    return {"pushed": bool(base), "channel": channel, "payload": payload}


# -- HTTP handlers ------------------------------------------------------------------------------


def _stats(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    return json_response(200, ctx.state.stats())


def _hits(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    with ctx.state.lock:
        hits = ctx.state.hits.as_list(account=req.query.get("account"), kind=req.query.get("kind"))
    return json_response(200, hits)


def _reset(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    reset(ctx)
    return json_response(200, {"reset": True})


def _faults(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    if req.method == "POST":
        try:
            profile = FaultProfile.from_mapping(_body(req))
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        with ctx.state.lock:
            ctx.state.faults = profile
    return json_response(200, ctx.state.faults.to_dict())


def _balance(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    body = _body(req)
    try:
        view = set_balance(
            ctx, str(body.get("account", "main")), wa=body.get("wa"), sms=body.get("sms")
        )
    except (TypeError, ValueError) as exc:
        raise ControlError(f"bad balance: {exc}") from None
    return json_response(200, view)


def _account(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    body = _body(req)
    name = str(body.pop("account", "main"))
    return json_response(200, set_account(ctx, name, **body))


def _callback(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    if req.method == "POST":
        url = _body(req).get("url")
        if url is not None and not isinstance(url, str):
            raise ControlError("url must be a string or null")
        with ctx.state.lock:
            ctx.state.callback_url = url or None
    return json_response(200, {"url": ctx.state.callback_url})


def _rate(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    body = _body(req)
    with ctx.state.lock:
        if body.get("min_interval_ms") is not None:
            ctx.state.min_interval_ms = float(body["min_interval_ms"])
        if body.get("enforce") is not None:
            ctx.state.enforce_rate = bool(body["enforce"])
        view = {"min_interval_ms": ctx.state.min_interval_ms, "enforce": ctx.state.enforce_rate}
    return json_response(200, view)


def _messages(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    views = ctx.state.message_views(time.monotonic())
    return json_response(200, {"count": len(views), "messages": views})


def _message(ctx: Ctx, req: Request, params: dict[str, str]) -> Response:
    message = ctx.state.message(params["ref_no"])
    if message is None:
        return json_response(404, {"error": "no such message"})
    return json_response(200, message.view(time.monotonic()))


def _inbox(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    body = _body(req)
    sender, text = body.get("sender"), body.get("text")
    if not isinstance(sender, str) or not isinstance(text, str):
        raise ControlError("sender and text are required strings")
    room = body.get("room_id")
    result = push_inbox(ctx, str(body.get("channel", "wa")), sender, text, room_id=room)
    return json_response(200, result)


CONTROL = Router(
    [
        route("GET", "/_sandbox/stats", _stats, "control"),
        route("GET", "/_sandbox/hits", _hits, "control"),
        route("POST", "/_sandbox/reset", _reset, "control"),
        route("GET POST", "/_sandbox/faults", _faults, "control"),
        route("POST", "/_sandbox/balance", _balance, "control"),
        route("POST", "/_sandbox/account", _account, "control"),
        route("GET POST", "/_sandbox/callback", _callback, "control"),
        route("GET POST", "/_sandbox/rate", _rate, "control"),
        route("GET", "/_sandbox/messages", _messages, "control"),
        route("GET", "/_sandbox/messages/{ref_no}", _message, "control"),
        route("POST", "/_sandbox/inbox", _inbox, "control"),
        route("GET POST", "/_sandbox/wachat/{action}", wachat.control, "control"),
        route("GET POST", "/_sandbox/smartswitch", smartswitch_control.handle, "control"),
        route("POST", "/_sandbox/smsgateway24", smsgateway24.handle_control, "control"),
    ]
)


def handle_control(ctx: Ctx, req: Request) -> Response:
    """Answer a ``/_sandbox/`` request."""
    found, params, known = CONTROL.match(req.method, req.path.rstrip("/") or "/")
    if found is None:
        return json_response(
            405 if known else 404, {"error": "method not allowed" if known else "not found"}
        )
    try:
        return found.handler(ctx, req, params)
    except (ControlError, TypeError, ValueError) as exc:
        return json_response(400, {"error": str(exc)})
    except KeyError as exc:
        return json_response(404, {"error": f"no such account: {exc.args[0]}"})
