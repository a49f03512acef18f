"""The WAChat API v1.0 endpoints: account, gateway balance, send message, send media, status.

Answers follow the document: the ``{"error": false, "message": "Data message", "data": …}``
envelope, 201 for an accepted send, 422 with a FastAPI ``detail`` list for a bad body. Where
it is silent the sandbox answers as NusaSMS's sibling API does: 403 for a missing or refused
key, 404 for an unknown ref_no or sender, and 402 when the gateway a send would use has
reached its ``limit`` (the send is not accepted and its counter does not move).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import time
from typing import Any
from urllib.parse import unquote

from ..accounts import Account
from ..messages import Message, format_iso

# The sibling API's FastAPI-style field checks (same platform, same 422 answers).
from ..nusasms.jsonapi import Fields
from ..router import Ctx
from ..state import SandboxState
from ..wire import (
    Invalid,
    Request,
    Response,
    envelope,
    error_envelope,
    json_response,
    problem,
)
from .accounts import authenticate, exhausted, gateway_view, profile
from .paths import CHANNEL, plan

MESSAGE = "Data message"


def auth_api_key(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET /wachat_api/1.0/auth/api_key`` (``PersonResponse``)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(403, "Invalid API key")
    with ctx.state.lock:
        found = profile(account) or {}
        data = {
            "userid": found.get("userid") or account.name,
            "idPerson": account.id_person,
            "idClient": account.id_client,
        }
    return envelope(200, MESSAGE, data)


def gateway_balance(ctx: Ctx, req: Request, params: dict[str, str]) -> Response:
    """``GET /wachat_api/1.0/sender/{sender}`` (``WAGatewayResponse``)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(403, "Invalid API key")
    sender = unquote(params["sender"])
    with ctx.state.lock:
        gateway = (profile(account) or {}).get("senders", {}).get(sender)
        if gateway is None:
            return error_envelope(404, "Sender not found")
        return envelope(200, MESSAGE, gateway_view(account, sender, gateway))


def _common(fields: Fields) -> dict[str, Any]:
    """Fields both sends share."""
    return {
        "destination": fields.destination(),
        "timeout": fields.integer("timeout"),
        "queue": fields.text("queue"),
        "is_group": bool(fields.boolean("is_group")),
        "sender": fields.text("sender"),
    }


def _pick_sender(account: Account, wanted: str | None) -> tuple[str, dict[str, Any]] | Response:
    """The gateway a send goes out of (the one asked for, else the first with quota left)."""
    senders: dict[str, dict[str, Any]] = (profile(account) or {}).get("senders", {})
    if wanted is not None:
        gateway = senders.get(wanted)
        if gateway is None:
            raise Invalid([problem("sender", "sender is not a gateway of this account")])
        if exhausted(gateway):
            used = f"{gateway['counter']}/{gateway['limit']}"
            return error_envelope(402, f"Sender {wanted} has reached its limit ({used})")
        return wanted, gateway
    if not senders:
        raise Invalid([problem("sender", "this account has no sender gateway")])
    for name, gateway in senders.items():
        if not exhausted(gateway):
            return name, gateway
    return error_envelope(402, "Every sender of this account has reached its limit")


def _accept(state: SandboxState, account: Account, build: dict[str, Any]) -> Response | Message:
    """Count the send against its gateway and record the message, atomically; or say why not."""
    with state.lock:
        picked = _pick_sender(account, build.pop("sender"))
        if isinstance(picked, Response):
            return picked
        sender, gateway = picked
        gateway["counter"] += 1
        ref_no = state.new_ref_no()
        timeout = build.pop("timeout")
        message = Message(
            ref_no=ref_no,
            account=account.name,
            channel=CHANNEL,
            cost=1.0,
            created=time.monotonic(),
            created_wall=time.time(),
            path=plan(
                ref_no, fail_rate=state.fail_rate, timeout_s=timeout, step_s=state.status_step_s
            ),
            step_s=state.status_step_s,
            sender=sender,
            **build,
        )
        # Kept out of the live set on purpose: WAChat documents no status push, so the status
        # ticker must not push these (it would push them as NusaSMS statuses).
        state.messages[ref_no] = message
        return message


def send_message(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /wachat_api/1.0/message`` (``SendMessageParams`` → ``SendMessageResponse``)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(403, "Invalid API key")
    fields = Fields(req.fields())
    build = _common(fields)
    text = fields.text("message", required=True)
    if text == "":
        fields.add("message", "ensure this value has at least 1 characters")
    fields.check()
    outcome = _accept(ctx.state, account, {**build, "text": text, "kind": "message"})
    if isinstance(outcome, Response):
        return outcome
    data = {
        "sender": outcome.sender,
        "queue": outcome.queue,
        "destination": outcome.destination,
        "message": outcome.text,
        "ref_no": outcome.ref_no,
    }
    return envelope(201, MESSAGE, data, ref_no=outcome.ref_no)


def send_media(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /wachat_api/1.0/media`` (``media_base64`` wins over ``media_url``)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(403, "Invalid API key")
    fields = Fields(req.fields())
    build = _common(fields)
    caption = fields.text("caption")
    media_url = fields.url("media_url")
    media_b64 = fields.text("media_base64")
    file_name = fields.text("file_name")
    fields.check()
    size: int | None = None
    if media_b64:
        try:
            size = len(base64.b64decode("".join(media_b64.split()), validate=True))
        except (binascii.Error, ValueError):
            fields.add("media_base64", "invalid base64 data")
    elif not media_url:
        fields.add("media_url", "media_url or media_base64 is required", "value_error.missing")
    fields.check()
    stored_url = media_url
    if media_b64:
        digest = hashlib.sha256(media_b64.encode()).hexdigest()[:16]
        ext = posixpath.splitext(file_name or "")[1].lower() or ".bin"
        stored_url = f"https://media.sandbox.invalid/{digest}{ext}"
    build.update(
        kind="media",
        caption=caption,
        media_url=stored_url,
        extra={"bytes": size, "file_name": file_name},
    )
    outcome = _accept(ctx.state, account, build)
    if isinstance(outcome, Response):
        return outcome
    data = {
        "sender": outcome.sender,
        "queue": outcome.queue,
        "destination": outcome.destination,
        "caption": outcome.caption,
        "media_url": outcome.media_url,
        "ref_no": outcome.ref_no,
    }
    return envelope(201, MESSAGE, data, ref_no=outcome.ref_no)


def message_status(ctx: Ctx, req: Request, params: dict[str, str]) -> Response:
    """``GET /wachat_api/1.0/status/{message_ref_no}`` (``GetMessageResponse``)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(403, "Invalid API key")
    message = ctx.state.message(unquote(params["ref_no"]))
    if message is None or message.channel != CHANNEL or message.account != account.name:
        return error_envelope(404, "Message not found")
    mono = time.monotonic()

    def date(status: str) -> str | None:
        wall = message.reached_wall(status, mono)
        return None if wall is None else format_iso(wall)

    data = {
        "destination": message.destination,
        "sender": message.sender,
        "is_group": message.is_group,
        "create_date": format_iso(message.created_wall),
        "sent_date": date("S"),
        "read_date": date("R"),
        "delivered_date": date("D"),
        "ref_no": message.ref_no,
        "status": message.status_at(mono),
        "message": message.text,
        "caption": message.caption,
        "media_url": message.media_url,
    }
    return envelope(200, MESSAGE, data)


def status_without_ref_no(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET /wachat_api/1.0/status/``: the document's Python sample forgets the ref_no.

    No such route exists at the provider (a FastAPI app): 404 ``{"detail": "Not Found"}``,
    still a hit of the account that made it.
    """
    return json_response(404, {"detail": "Not Found"})
