"""The SmsGateway24 endpoints under ``/getdata/``, as seed 004 describes them.

Every call may come as GET (query string) or POST (urlencoded or multipart form; the bulk
call also as a JSON body), and every answer is HTTP 200 with ``"error": 0|1`` and a
``message`` — the document describes no other way of saying no. The messages below are the
sandbox's own wording (the document gives none): a refused token always names the token, a
lapsed device subscription names the subscription.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from ..accounts import Account
from ..router import Ctx
from ..state import SandboxState
from ..wire import Request, Response, json_response
from . import store

IMAGE_TYPES = {"jpg", "jpeg", "png", "webp", "gif"}
WHATSAPP_SLOTS = {2, 3}
SMS_SLOTS = {0, 1}
TIMETOSEND = re.compile(r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?")
STORAGE = "https://storage.smsgateway24.sandbox/uploads"  # where "uploaded" images live


class Refusal(Exception):
    """Raised when a request is refused; answered ``{"error": 1, "message": …}``."""

    retryable = False


def params(req: Request) -> dict[str, str]:
    """Query string merged with a form body (names lower-cased)."""
    return req.sms_params()


def refused(message: str) -> Response:
    """The document's error answer."""
    return json_response(200, {"error": 1, "message": message})


def _bulk_data(req: Request, given: dict[str, str]) -> Any:
    """The bulk call's ``datajson`` (a form field), or a JSON body of the same shape."""
    raw = given.get("datajson")
    if raw is None and req.content_type == "application/json":
        raw = req.body.decode("utf-8", errors="replace")
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def resolve(state: SandboxState, req: Request) -> Account | None:
    """Who a request is from: its token (in the form, or inside ``datajson``), else its login."""
    given = params(req)
    token = given.get("token")
    if token is None:
        data = _bulk_data(req, given)
        token = data.get("token") if isinstance(data, dict) else None
    with state.lock:
        if isinstance(token, str) and token:
            return store.by_token(state, token)
        return store.by_login(state, given.get("email"), given.get("pass"))


def authorize(state: SandboxState, req: Request, token: Any, given: dict[str, str]) -> Account:
    """The account a call may act for; a token, or (``addsms``) the e-mail and password."""
    account = req.account
    if token is None and given.get("email") is not None:
        if account is None or account.revoked:
            raise Refusal("Wrong email or password")
        return account
    if not isinstance(token, str) or not token:
        raise Refusal("Token is required")
    if account is None:
        raise Refusal("Wrong token")
    verdict = store.token_state(account, token, time.monotonic())
    if verdict == "expired":
        # Echoing what was sent back is what many such APIs do; clients must not leak it.
        raise Refusal(f"Token {token} has expired, please get a new token")
    if verdict != "valid" or account.revoked:
        raise Refusal("Wrong token")
    return account


def integer(given: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = given.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refusal(f"{name} is required")
        return None
    if isinstance(value, bool):
        raise Refusal(f"{name} must be an integer")
    try:
        return int(str(value).strip())
    except ValueError:
        raise Refusal(f"{name} must be an integer") from None


def _message_fields(account: Account, given: dict[str, Any], *, has_file: bool) -> dict[str, Any]:
    """Check one message (``addsms`` or a bulk item); returns what is recorded."""
    sendto = str(given.get("sendto") or "").strip()
    if not sendto:
        raise Refusal("sendto is required")
    body = given.get("body")
    if not has_file and not (isinstance(body, str | int) and str(body).strip()):
        raise Refusal("body is required")
    device_id = integer(given, "device_id", required=True)
    sim = integer(given, "sim", required=True)
    assert device_id is not None and sim is not None
    if not 0 <= sim <= 5:
        raise Refusal("sim must be 0 or 1 (SMS), 2 or 3 (WhatsApp), 4 or 5 (RCS)")
    phone = store.find_device(account, device_id)
    if phone is None:
        raise Refusal(f"Device {device_id} not found")
    if not phone.get("subscription"):
        raise Refusal(f"The subscription of device {device_id} has expired")
    if sim in SMS_SLOTS and sim not in store.slots(phone):
        raise Refusal(f"Device {device_id} has no SIM in slot {sim}")
    when = given.get("timetosend")
    if when not in (None, "") and not TIMETOSEND.fullmatch(str(when).strip()):
        raise Refusal("timetosend must be YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
    urgent = integer(given, "urgent") or 0
    return {
        "sendto": sendto,
        "body": None if body is None else str(body),
        "device_id": device_id,
        "sim": sim,
        "timetosend": str(when).strip() if when else None,
        "customerid": integer(given, "customerid"),
        "urgent": 1 if urgent else 0,
        "_phone": phone,
    }


def handle(work: Callable[[], Response]) -> Response:
    """Run a handler body; a `Refusal` becomes the document's error answer."""
    try:
        result: Response = work()
    except Refusal as exc:
        return refused(str(exc))
    return result


def gettoken(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``gettoken``: e-mail (``email``) and password (``pass``) for a token."""
    given = params(req)
    if not given.get("email") or not given.get("pass"):
        return refused("email and pass are required")
    with ctx.state.lock:
        account = req.account
        if account is None or account.revoked:
            return refused(f"Wrong email or password ({given['email']})")
        token = store.issue_token(ctx.state, account)
    return json_response(200, {"token": token, "error": 0, "message": ""})


def addsms(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``addsms``: one message, optionally with an image (multipart ``file``)."""
    given = params(req)
    upload = req.files().get("file")

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), given)
            fields = _message_fields(account, given, has_file=upload is not None)
            if upload is not None:
                name, content = upload
                extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
                if extension not in IMAGE_TYPES or not content:
                    raise Refusal("file must be a jpeg, png, webp or gif image")
                if fields["sim"] not in WHATSAPP_SLOTS:
                    raise Refusal("Images can only be sent on WhatsApp slots (sim 2 or 3)")
            phone = fields.pop("_phone")
            record = store.queue_message(ctx.state, account, phone, fields)
            if upload is not None:
                record["image"] = {"file_name": upload[0], "bytes": len(upload[1])}
                record["body"] = f"{STORAGE}/{record['id']}/{upload[0]}"
        answer = {
            "error": 0,
            "sms_id": record["id"],
            "message": "Sms has been saved successfully",
        }
        return json_response(200, answer, accepted=True, ref_no=str(record["id"]))

    return handle(work)


def addalotofsms(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """The bulk call: ``datajson`` = ``{"token", "smsdata": [...]}``; all or nothing."""
    given = params(req)
    data = _bulk_data(req, given)

    def work() -> Response:
        if not isinstance(data, dict):
            raise Refusal("datajson is required and must be a JSON object")
        with ctx.state.lock:
            account = authorize(ctx.state, req, data.get("token"), {})
            items = data.get("smsdata")
            if not isinstance(items, list) or not items:
                raise Refusal("smsdata must be a non-empty list")
            checked = []
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    raise Refusal(f"smsdata[{index}] must be an object")
                try:
                    checked.append(_message_fields(account, item, has_file=False))
                except Refusal as exc:
                    raise Refusal(f"smsdata[{index}]: {exc}") from None
            ids = [
                store.queue_message(ctx.state, account, fields.pop("_phone"), fields)["id"]
                for fields in checked
            ]
        answer = {"error": 0, "message": f"{len(ids)} sms have been saved successfully"}
        return json_response(200, answer, accepted=True, ref_no=",".join(map(str, ids)))

    return handle(work)


def getsmsstatus(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """One message's status: ``sms_id``, ``status``, ``status_description``."""
    given = params(req)

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), {})
            sms_id = integer(given, "sms_id", required=True)
            record = store.section(account)["messages"].get(str(sms_id))
            if record is None:
                raise Refusal(f"Sms {sms_id} not found")
            code, title = store.status_of(record, time.monotonic())
        answer = {
            "sms_id": record["id"],
            "status": code,
            "status_description": title,
            "error": 0,
            "message": "",
        }
        return json_response(200, answer)

    return handle(work)


def getalldevices(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """The account's phones, keyed by id (the document's sample shape)."""
    given = params(req)

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), {})
            phones = [dict(d) for d in store.section(account)["devices"]]
        answer = {"count": len(phones), "device": {str(d["id"]): d for d in phones}}
        return json_response(200, {**answer, "message": ""})

    return handle(work)


def getallsms(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """The account's messages, filtered; ``onlycount=1`` answers the count alone."""
    given = params(req)

    def work() -> Response:
        with ctx.state.lock:
            account = authorize(ctx.state, req, given.get("token"), {})
            now = time.monotonic()
            records = list(store.section(account)["messages"].values())
            views = [_listed(r, *store.status_of(r, now)) for r in records]
        wanted = {
            "deviceid": integer(given, "device_id"),
            "status": integer(given, "status"),
            "sim": integer(given, "sim"),
            "customerid": integer(given, "customerid"),
        }
        views = [v for v in views if all(x is None or v[k] == x for k, x in wanted.items())]
        if given.get("phone"):
            views = [v for v in views if given["phone"].strip() in v["sendto"]]
        if given.get("orderbydesc") == "1":
            views.reverse()
        answer: dict[str, Any] = {"error": 0, "message": "", "count": len(views)}
        if given.get("onlycount") != "1":
            answer["smss"] = {str(v["id"]): v for v in views}
        return json_response(200, answer)

    return handle(work)


def _listed(record: dict[str, Any], code: int, title: str) -> dict[str, Any]:
    created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(record["created_wall"]))
    return {
        "id": record["id"],
        "sendto": record["sendto"],
        "body": record["body"],
        "customerid": record["customerid"],
        "status": code,
        "statustitle": title,
        "deviceid": record["device_id"],
        "sim": record["sim"],
        "urgent": record["urgent"] or None,
        "created": {"date": f"{created}.000000", "timezone_type": 3, "timezone": "UTC"},
        "senttime": None,
        "timetosend": record["timetosend"],
        "paketid": None,
        "pakettitle": None,
        "paketbody": None,
    }
