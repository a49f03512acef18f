"""WhatsApp Official endpoints: template broadcast, reply in a room, templates, channels.

A broadcast costs 1 WA credit (as the task's model of the provider says); a reply inside an
open room is free here (the documents state no price). Statuses of both move
``queued → sent → delivered → read`` (or end ``failed``) and are pushed as JSON.
"""

from __future__ import annotations

import time
from typing import Any

from ..messages import Message, plan_path
from ..router import Ctx
from ..wire import Request, Response, envelope, error_envelope
from .jsonapi import Fields, authenticate

BROADCAST_COST = 1.0
REPLY_TYPES = ("text", "audio", "document", "image", "video", "voice")
CHANNEL_ID = "15974c27-3116-49f4-8627-5fc30b0c66d8"  # ids taken from the documents' samples
TEMPLATES: list[dict[str, Any]] = [
    {
        "id": "65a08d56-a2b9-45f5-98d3-98671e639055",
        "name": "otp_code",
        "header": None,
        "body": {"text": "Your OTP Code is {{1}}"},
        "footer": None,
        "status": "APPROVED",
        "category": "AUTHENTICATION",
    },
    {
        "id": "0f6d6f58-2f4e-4c55-9a51-3a8f8d1b7c21",
        "name": "order_update",
        "header": {"format": "TEXT", "text": "Order update"},
        "body": {"text": "Your order {{1}} is {{2}}."},
        "footer": {"text": "Thank you"},
        "status": "APPROVED",
        "category": "UTILITY",
    },
    {
        "id": "9b1c2d3e-4f50-4a6b-8c7d-8e9f0a1b2c3d",
        "name": "monthly_statement",
        "header": {"format": "DOCUMENT"},
        "body": {"text": "Hello {{1}}, your statement is attached."},
        "footer": None,
        "status": "PENDING",
        "category": "MARKETING",
    },
]
CHANNELS: list[dict[str, Any]] = [
    {
        "id": CHANNEL_ID,
        "webhook": "https://example.com/nusasms/webhook",
        "settings": {"phone_number": "6281100000009", "name": "Sandbox channel"},
        "organization_id": "3f1e2d4c-5b6a-4978-8a6b-5c4d3e2f1a0b",
        "created_at": "2022-08-09T10:00:00Z",
    }
]


def _record(
    ctx: Ctx, account_name: str, kind: str, destination: str, cost: float, **fields: Any
) -> Response | Message:
    state = ctx.state
    with state.lock:
        account = state.account(account_name)
        if cost > 0 and account.expired:
            return error_envelope(402, "WA balance expired")
        if not state.charge(account, "wa", cost):
            return error_envelope(402, "Insufficient WA balance")
        ref_no = state.new_ref_no()
        message = Message(
            ref_no=ref_no,
            account=account_name,
            channel="wa_official",
            kind=kind,
            destination=destination,
            cost=cost,
            created=time.monotonic(),
            created_wall=time.time(),
            path=plan_path(
                "wa_official",
                ref_no,
                fail_rate=state.fail_rate,
                timeout_s=None,
                step_s=state.status_step_s,
            ),
            step_s=state.status_step_s,
            **fields,
        )
        state.add_message(message)
        return message


def broadcast(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /nusasms_api/1.0/wa_official/message/broadcast`` (JSON body)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    fields = Fields(req.fields())
    destination = fields.destination(groups=False)
    name = fields.text("destination_name", required=True)
    template_id = fields.uuid4("template_id")
    channel_id = fields.uuid4("channel_id")
    parameters = fields.data.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        fields.add("parameters", "value is not a valid dict", "type_error.dict")
    fields.check()
    assert destination is not None
    extra = {
        "destination_name": name,
        "template_id": template_id,
        "channel_id": channel_id,
        "parameters": parameters,
    }
    outcome = _record(ctx, account.name, "broadcast", destination, BROADCAST_COST, extra=extra)
    if isinstance(outcome, Response):
        return outcome
    return envelope(
        201, "Send broadcast message", {"ref_no": outcome.ref_no}, ref_no=outcome.ref_no
    )


def reply(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /nusasms_api/1.0/wa_official/message/reply`` (multipart or urlencoded form)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    fields = Fields(req.fields())
    room_id = fields.uuid4("room_id")
    kind = fields.text("type") or "text"
    if kind not in REPLY_TYPES:
        fields.add(
            "type",
            f"value is not a valid enumeration member; permitted: {', '.join(REPLY_TYPES)}",
            "type_error.enum",
        )
    text = fields.text("text")
    file_url = fields.url("file_url")
    upload = req.files().get("file")
    if kind == "text" and not text:
        fields.add("text", "text is required for a text reply", "value_error.missing")
    elif kind != "text" and not (file_url or upload):
        fields.add(
            "file_url",
            f"file_url (or a file) is required for a {kind} reply",
            "value_error.missing",
        )
    fields.check()
    assert room_id is not None
    # The document's Node.js sample uploads the file itself (multipart part ``file``), with
    # ``text`` as its caption; the schema names ``file_url``. Either carries a non-text reply.
    extra = {
        "room_id": room_id,
        "type": kind,
        "file_name": upload[0] if upload else None,
        "file_bytes": len(upload[1]) if upload else None,
    }
    outcome = _record(
        ctx, account.name, "reply", room_id, 0.0, text=text, media_url=file_url, extra=extra
    )
    if isinstance(outcome, Response):
        return outcome
    ref_no = outcome.ref_no
    return envelope(201, "Send reply message", {"ref_no": ref_no}, ref_no=ref_no)


def templates(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET /nusasms_api/1.0/wa_official/templates``."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    return envelope(200, "Templates", TEMPLATES)


def channels(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET /nusasms_api/1.0/wa_official/channels``."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    return envelope(200, "Channels", CHANNELS)
