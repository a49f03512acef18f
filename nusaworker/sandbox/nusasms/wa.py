"""JSON API endpoints: account, balance, WhatsApp send/media/status and the phone check.

Costs (per the documents): a WhatsApp message takes 1 WA credit per started 1500 characters,
media 2 credits, given back when the message ends ``F`` ("WA Credit deduction will be
reverted"; not for ``A``, of which the documents say nothing); the phone check is free.

How the provider refuses a send for want of credit is not documented. Assumed here (and
recognised by the client, see docs/providers/nusasms.md): not enough credit → HTTP 402
``{"error": true, "message": "Insufficient WA balance"}``; an expired balance → 402
``WA balance expired``. What *is* documented is the balance answer: ``wa_balance`` and
``wa_expired_date`` (a date in the past once the account is set expired).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import Any

from ..callbacks import join_url, json_push
from ..messages import Message, format_iso, plan_path
from ..router import Ctx
from ..state import SandboxState
from ..wire import Request, Response, envelope, error_envelope
from .jsonapi import Fields, authenticate
from .media import (
    MEDIA_SIZE_LIMITS,
    decode_base64,
    describe_limit,
    media_type,
    normalize_base64,
    refused_field,
)

SENDERS = ("6281100000001", "6281100000002", "6281100000003")
CHARS_PER_CREDIT = 1500
MEDIA_COST = 2.0
PHONE_CHECK_MAX = 100
PHONE_CHECK_DELAY_S = 0.05  # the result follows the 201 answer, never overtakes it

# The documented test ref_nos of the provider's test host (seed 000) answer these statuses for
# any account.
TEST_REF_NOS = {
    "queued": "Q",
    "sent": "S",
    "delivered": "D",
    "read": "R",
    "aborted": "A",
    "failed": "F",
}


def is_registered(number: str) -> bool:
    """Sandbox rule for the phone check: numbers ending in ``0`` are not on WhatsApp."""
    return not number.endswith("0")


def auth_api_key(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET /nusasms_api/1.0/auth/api_key``."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    data = {
        "userid": account.sms_user or account.name,
        "idPerson": account.id_person,
        "idClient": account.id_client,
    }
    return envelope(200, "Data message", data)


def balance(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``GET /nusasms_api/1.0/balance``."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    with ctx.state.lock:
        ctx.state.settle(time.monotonic())  # failed messages' credit is back before it is read
        date = account.expired_date
        data = {
            "idClient": account.id_client,
            "wa_balance": account.wa_balance,
            "wa_expired_date": date,
            "hlr_balance": 0,
            "hlr_expired_date": date,
            "sim_balance": 0,
            "sim_expired_date": date,
            "sms_balance": account.sms_balance,
            "sms_expired_date": date,
            "pulsa_balance": 0,
        }
    return envelope(200, "Data message", data)


def _accept(
    state: SandboxState, account_name: str, cost: float, build: dict[str, Any]
) -> Response | Message:
    """Charge and record a WhatsApp message atomically, or say why not (402)."""
    with state.lock:
        account = state.account(account_name)
        if account.expired:
            return error_envelope(402, "WA balance expired")
        if not state.charge(account, "wa", cost):
            return error_envelope(402, "Insufficient WA balance")
        ref_no = state.new_ref_no()
        timeout = build.pop("timeout", None)
        path = plan_path(
            "wa",
            ref_no,
            fail_rate=state.fail_rate,
            timeout_s=timeout,
            step_s=state.status_step_s,
        )
        sender = build.pop("sender", None) or SENDERS[int(ref_no[-4:]) % len(SENDERS)]
        message = Message(
            ref_no=ref_no,
            account=account_name,
            channel="wa",
            cost=cost,
            created=time.monotonic(),
            created_wall=time.time(),
            path=path,
            step_s=state.status_step_s,
            sender=sender,
            # "F FAILED: Fail to save Message (WA Credit deduction will be reverted)".
            refund_on="F",
            **build,
        )
        state.add_message(message)
        return message


def _common(fields: Fields) -> dict[str, Any]:
    """Fields shared by message and media sends."""
    values = {
        "destination": fields.destination(),
        "timeout": fields.integer("timeout"),
        "queue": fields.text("queue"),
        "is_group": bool(fields.boolean("is_group")),
        "sender": fields.text("sender"),
    }
    fields.integer("channel")
    fields.boolean("include_unsubscribe")
    return values


def send_message(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /nusasms_api/1.0/whatsapp/message``."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    fields = Fields(req.fields())
    build = _common(fields)
    text = fields.text("message", required=True)
    if text == "":
        fields.add("message", "ensure this value has at least 1 characters")
    fields.check()
    assert text is not None
    cost = float(max(1, math.ceil(len(text) / CHARS_PER_CREDIT)))
    extra = {
        "channel": fields.data.get("channel"),
        "include_unsubscribe": fields.data.get("include_unsubscribe"),
    }
    outcome = _accept(
        ctx.state, account.name, cost, {**build, "text": text, "kind": "message", "extra": extra}
    )
    if isinstance(outcome, Response):
        return outcome
    data = {
        "sender": outcome.sender,
        "queue": outcome.queue,
        "destination": outcome.destination,
        "ref_no": outcome.ref_no,
        "message": outcome.text,
    }
    return envelope(201, "Data message", data, ref_no=outcome.ref_no)


def send_media(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /nusasms_api/1.0/whatsapp/media`` (media_base64 wins over media_url; rules in
    :mod:`.media`)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    fields = Fields(req.fields())
    build = _common(fields)
    caption = fields.text("caption")
    media_url = fields.url("media_url")
    media_b64 = normalize_base64(fields.text("media_base64") or "") or None
    file_name = fields.text("file_name")
    fields.check()
    content: bytes | None = None
    if media_b64:
        try:
            content = decode_base64(media_b64)
        except ValueError:
            fields.add("media_base64", "invalid base64 data")
    elif not media_url:
        fields.add("media_url", "media_url or media_base64 is required", "value_error.missing")
    fields.check()
    try:
        ext, source = media_type(
            media_url=None if content is not None else media_url,
            content=content,
            file_name=file_name,
        )
    except ValueError as exc:
        where = refused_field(file_name, content)
        fields.add(where, str(exc))
        ext, source = None, where
    if ext is not None and content is not None and len(content) > MEDIA_SIZE_LIMITS[ext]:
        fields.add("media_base64", f"media too large: max {describe_limit(ext)} for {ext}")
    fields.check()
    stored_url = media_url
    if content is not None:
        digest = hashlib.sha256(content).hexdigest()[:16]
        stored_url = f"https://media.sandbox.invalid/{digest}.{ext}"
    size = None if content is None else len(content)
    build.update(
        kind="media",
        caption=caption,
        media_url=stored_url,
        extra={"bytes": size, "ext": ext, "type_from": source, "file_name": file_name},
    )
    outcome = _accept(ctx.state, account.name, MEDIA_COST, build)
    if isinstance(outcome, Response):
        return outcome
    data = {
        "sender": outcome.sender,
        "queue": outcome.queue,
        "destination": outcome.destination,
        "ref_no": outcome.ref_no,
        "caption": outcome.caption,
        "media_url": outcome.media_url,
    }
    return envelope(201, "Data message", data, ref_no=outcome.ref_no)


def message_status(ctx: Ctx, req: Request, params: dict[str, str]) -> Response:
    """``GET /nusasms_api/1.0/whatsapp/status/{ref_no}`` (test ref_nos answer for anyone)."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    ref_no = params["ref_no"]
    now = time.time()
    if ref_no in TEST_REF_NOS:
        status = TEST_REF_NOS[ref_no]
        stamp = format_iso(now)
        data = {
            "destination": "6281234567890",
            "sender": SENDERS[0],
            "is_group": False,
            "create_date": stamp,
            "sent_date": stamp if status in "SDRF" else None,
            "read_date": stamp if status == "R" else None,
            "delivered_date": stamp if status in "DR" else None,
            "ref_no": ref_no,
            "status": status,
            "message": "Test message",
            "caption": None,
            "media_url": None,
        }
        return envelope(200, "Data message", data)
    message = ctx.state.message(ref_no)
    if message is None or message.channel != "wa" or message.account != account.name:
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
    return envelope(200, "Data message", data)


def phone_check(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /nusasms_api/1.0/wa_phone_check``; the result is pushed to the callback."""
    account, denied = authenticate(req)
    if account is None:
        return denied or error_envelope(401, "Invalid API key")
    fields = Fields(req.fields())
    callback = fields.url("callback_url")
    numbers = fields.data.get("phone_numbers")
    if isinstance(numbers, str):  # the curl sample sends the list as a JSON string in a form
        try:
            numbers = json.loads(numbers)
        except json.JSONDecodeError:
            numbers = [numbers]
    if "phone_numbers" not in fields.data or numbers is None:
        fields.add("phone_numbers", "field required", "value_error.missing")
    elif not isinstance(numbers, list):
        fields.add("phone_numbers", "value is not a valid list", "type_error.list")
    elif not 1 <= len(numbers) <= PHONE_CHECK_MAX:
        fields.add("phone_numbers", f"between 1 and {PHONE_CHECK_MAX} phone numbers are allowed")
    else:
        for i, number in enumerate(numbers):
            text = (
                str(number)
                if isinstance(number, str | int) and not isinstance(number, bool)
                else ""
            )
            if not (text.isdigit() and 8 <= len(text) <= 14):
                fields.problems.append(
                    {
                        "loc": ["body", "phone_numbers", i],
                        "msg": "phone number must be 8-14 digits",
                        "type": "value_error",
                    }
                )
    fields.check()
    assert isinstance(numbers, list)
    target = callback or (
        join_url(ctx.state.callback_url, "/wa/phone_check") if ctx.state.callback_url else None
    )
    if target is not None:
        result = {
            "phone_numbers": [
                {"phone_number": str(n), "is_registered": is_registered(str(n))} for n in numbers
            ]
        }
        ctx.pusher.submit(json_push(target, result, delay_s=PHONE_CHECK_DELAY_S))
    return envelope(201, "Data message", None)
