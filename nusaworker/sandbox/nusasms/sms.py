"""SMS v3 endpoints: send plain, send to a group, and the command API (CREDITS, DR).

Parameters come from the query string and/or an urlencoded or multipart body; the sends take
GET and POST (the documents' samples use both), the command API GET only (as documented).
Answers are always HTTP 200, XML unless ``output=json``; failures are negative ``status`` codes
in that body (``-5`` login, ``-6`` no GSM, ``-12`` no text, ``-13`` bad number: not 8-15
digits or a local ``0…`` number, ``-14`` over 10 segments (an assumed limit), ``-2`` credit,
``-7`` expired, ``-40`` IP not whitelisted, ``-55`` unknown group).

The documents do not show the command API's answers; the sandbox assumes this shape (the same
``results`` wrapper as the send answers, every value a string)::

    cmd=CREDITS[&type=sms|wa] → {"results": [{"status": "0", "type": "sms",
                                  "credits": "1234.0", "expired_date": "2027-12-31"}]}
    cmd=DR&ref_no=X           → {"results": [{"status": "0", "ref_no": "X",
                                  "dr_status": "DELIVERED", "sent_date": "2024-01-31 10:00:00",
                                  "err_code": "0"}]}

``dr_status`` moves ``QUEUED → SENT → DELIVERED`` (or ends ``FAILED``/``REJECTED``); an unknown
ref_no answers ``-31``, a missing one ``-32``, any other ``cmd`` ``-24``; the XML form carries
the same fields as elements of ``<result>``.
"""

from __future__ import annotations

import re
import time
from xml.sax.saxutils import escape

from ..accounts import Account
from ..callbacks import ERR_CODES
from ..messages import Message, format_plain, plan_path
from ..router import Ctx
from ..wire import Request, Response, json_response
from .segments import MAX_SEGMENTS, count_segments

GSM_NUMBER = re.compile(r"^[1-9]\d{7,14}$")
GROUPS = {"Example": ("6281200000001", "6281200000002", "6281200000003")}
TRUE = {"1", "true", "y", "yes", "on"}


def render(
    results: list[dict[str, str]], output: str | None, *, ref_no: str | None = None
) -> Response:
    """The SMS v3 answer body in the asked format (XML unless ``output=json``)."""
    if (output or "").strip().lower() == "json":
        return json_response(200, {"results": results}, accepted=ref_no is not None, ref_no=ref_no)
    rows = "".join(
        "<result>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in row.items()) + "</result>"
        for row in results
    )
    body = f'<?xml version="1.0" encoding="UTF-8"?><results>{rows}</results>'
    xml = "text/xml; charset=UTF-8"
    return Response(200, body.encode(), xml, accepted=ref_no is not None, ref_no=ref_no)


def _login(req: Request, *, sending: bool) -> tuple[Account | None, int]:
    """The account of an SMS request, or the negative status that refuses it."""
    account = req.account
    params = req.sms_params()
    if (
        account is None
        or account.sms_user != params.get("user")
        or account.sms_password != params.get("password")
        or account.revoked
    ):
        return None, -5
    if not account.ip_whitelisted:
        return None, -40
    if sending and account.expired:
        return None, -7
    return account, 0


def _record(
    ctx: Ctx, account: Account, destination: str, text: str, segments: int, **extra: object
) -> Message:
    state = ctx.state
    ref_no = state.new_sms_id()
    message = Message(
        ref_no=ref_no,
        account=account.name,
        channel="sms",
        kind=str(extra.pop("kind", "sms")),
        destination=destination,
        cost=float(segments),
        created=time.monotonic(),
        created_wall=time.time(),
        path=plan_path(
            "sms", ref_no, fail_rate=state.fail_rate, timeout_s=None, step_s=state.status_step_s
        ),
        step_s=state.status_step_s,
        text=text,
        extra={"segments": segments, **extra},
    )
    state.add_message(message)
    return message


def _segments(params: dict[str, str], text: str) -> tuple[int, str]:
    return count_segments(text, unicode=params.get("unicode", "").strip().lower() in TRUE)


def send_plain(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``/api/v3/sendsms/plain``: one SMS to ``GSM``."""
    params = req.sms_params()
    gsm = params.get("gsm", "")

    def answer(status: int, messageid: str = "") -> Response:
        row = {"status": str(status), "messageid": messageid, "destination": gsm}
        return render([row], params.get("output"), ref_no=messageid if status == 0 else None)

    account, refused = _login(req, sending=True)
    if account is None:
        return answer(refused)
    text = params.get("smstext", "")
    if not gsm:
        return answer(-6)
    if not text:
        return answer(-12)
    if not GSM_NUMBER.match(gsm):
        return answer(-13)
    segments, encoding = _segments(params, text)
    if segments > MAX_SEGMENTS:
        return answer(-14)
    with ctx.state.lock:
        if not ctx.state.charge(account, "sms", float(segments)):
            return answer(-2)
        otp = params.get("otp", "").strip().upper() == "Y"
        message = _record(ctx, account, gsm, text, segments, encoding=encoding, otp=otp)
    return answer(0, message.ref_no)


def send_group(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``/api/v3/sendsms/group``: one SMS to every number of a contacts group."""
    params = req.sms_params()
    group = params.get("group", "")
    campaign = f"Group-Api-Campaign-{ctx.state.new_ref_no()[-7:]}-{int(time.time()) % 10_000:04d}"

    def answer(status: int) -> Response:
        row = {"status": str(status), "campaign_name": campaign, "group": group}
        return render([row], params.get("output"), ref_no=campaign if status == 0 else None)

    account, refused = _login(req, sending=True)
    if account is None:
        return answer(refused)
    text = params.get("smstext", "")
    if not text:
        return answer(-12)
    members = GROUPS.get(group)
    if not members:
        return answer(-55)
    segments, encoding = _segments(params, text)
    if segments > MAX_SEGMENTS:
        return answer(-14)
    with ctx.state.lock:
        if not ctx.state.charge(account, "sms", float(segments * len(members))):
            return answer(-2)
        for number in members:
            _record(
                ctx,
                account,
                number,
                text,
                segments,
                kind="sms_group",
                encoding=encoding,
                campaign=campaign,
            )
    return answer(0)


def command(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``/api/command``: ``cmd=CREDITS`` or ``cmd=DR`` (answer shape assumed, see module doc)."""
    params = req.sms_params()
    output = params.get("output")
    account, refused = _login(req, sending=False)
    if account is None:
        return render([{"status": str(refused)}], output)
    cmd = params.get("cmd", "").strip().upper()
    if cmd == "CREDITS":
        wallet = "wa" if params.get("type", "sms").strip().lower() == "wa" else "sms"
        with ctx.state.lock:
            ctx.state.settle(time.monotonic())
            credits = float(getattr(account, f"{wallet}_balance"))
        row = {
            "status": "0",
            "type": wallet,
            "credits": str(credits),
            "expired_date": account.expired_date,
        }
        return render([row], output)
    if cmd == "DR":
        ref_no = params.get("ref_no", "")
        if not ref_no:
            return render([{"status": "-32", "ref_no": ""}], output)
        message = ctx.state.message(ref_no)
        if message is None or message.channel != "sms" or message.account != account.name:
            return render([{"status": "-31", "ref_no": ref_no}], output)
        now = time.monotonic()
        status = message.status_at(now)
        sent = message.reached_wall("SENT", now)
        row = {
            "status": "0",
            "ref_no": ref_no,
            "dr_status": status,
            "sent_date": "" if sent is None else format_plain(sent),
            "err_code": ERR_CODES.get(status, "0"),
        }
        return render([row], output)
    return render([{"status": "-24"}], output)
