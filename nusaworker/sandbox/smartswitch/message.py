"""``POST /api/message``: send a body to one or more destinations, answer in JSON:API.

Per the document (seed 003): ``_login``/``_password`` authenticate; ``destination_number`` is
mandatory and may repeat, the n-th ``body``/``source_name``/``source_number``/``require_dlr``/
``stealth_ping``/``request_id`` going with the n-th number (one given value serves them all);
the answer is ``data`` — one object for one number, an array for several — or ``errors``.
Each destination is judged alone: a bad number, a number the test told to fail, or a balance
that ran out fails that destination only (``status: error``, not charged, error code in
``meta.error``); the others are sent and charged ``segments``.

Assumptions where the document is silent (docs/providers/smartswitch.md lists them): whole
request errors are answered 401 (``authentication``, the document's own text) or 400
(``validation``); a repeated ``request_id`` of the same account gets the first answer's row
again and nothing is sent twice; ``require_dlr`` is recorded but no delivery receipt is
pushed (the document does not describe one); segments are counted as SMS are everywhere.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from ..nusasms.segments import count_segments
from ..router import Ctx
from ..wire import Request, Response
from .standing import OK_CYRILLIC, params, standing

CONTENT_TYPE = "application/vnd.api+json"
NUMBER = re.compile(r"^\+?[1-9]\d{7,14}$")
TRUE = {"1", "true", "yes", "y", "on"}


def document(status: int, body: dict[str, Any], *, ref_no: str | None = None) -> Response:
    """A JSON:API answer; ``ref_no`` marks an answer whose sends happened."""
    return Response(
        status,
        json.dumps(body, ensure_ascii=False).encode("utf-8"),
        CONTENT_TYPE,
        accepted=ref_no is not None,
        ref_no=ref_no,
    )


def errors(status: int, code: str, title: str, detail: str) -> Response:
    """A whole-request error: ``{"errors": [{"code", "detail", "title"}]}``."""
    return document(status, {"errors": [{"code": code, "detail": detail, "title": title}]})


def _pick(given: dict[str, list[str]], name: str, index: int) -> str | None:
    values = given.get(name)
    if not values:
        return None
    return values[index] if index < len(values) else values[-1]


def _row(
    ctx: Ctx, found: dict[str, Any], given: dict[str, list[str]], index: int
) -> dict[str, Any]:
    """Judge, charge and record one destination; its answer row."""
    number = given["destination_number"][index]
    body = _pick(given, "body", index) or ""
    request_id = _pick(given, "request_id", index)
    segments, _ = count_segments(body)
    meta: dict[str, Any] = {} if request_id is None else {"request_id": request_id}
    row: dict[str, Any] = {
        "attributes": {"destination_number": number, "segments": segments, "status": "error"},
        "id": ctx.state.new_sms_id(),
        "meta": meta,
        "type": "message",
    }
    problem: tuple[str, str, str] | None = None
    if not NUMBER.match(number):
        detail = "A destination number has 8 to 15 digits"
        problem = ("destination_number", "Invalid destination number", detail)
    elif number.removeprefix("+") in found["fail_destinations"]:
        problem = ("rejected", "Destination rejected", "The destination refused the message")
    elif found["balance"] < segments:
        problem = ("balance", "Insufficient balance", "Not enough balance for the message")
    if problem is not None:
        code, title, detail = problem
        meta["error"] = {"code": code, "detail": detail, "title": title}
        return row
    found["balance"] -= segments
    row["attributes"]["status"] = OK_CYRILLIC if found["ok_spelling"] == OK_CYRILLIC else "ok"
    found["sent"].append(
        {
            "id": row["id"],
            "destination_number": number,
            "body": body,
            "segments": segments,
            "request_id": request_id,
            "source_name": _pick(given, "source_name", index),
            "source_number": _pick(given, "source_number", index),
            "require_dlr": (_pick(given, "require_dlr", index) or "").lower() in TRUE,
            "stealth_ping": (_pick(given, "stealth_ping", index) or "").lower() in TRUE,
            "sent_wall": time.time(),
        }
    )
    return row


def send(ctx: Ctx, req: Request, _: dict[str, str]) -> Response:
    """``POST /api/message``."""
    found = standing(req.account)
    if found is None or req.account is None or req.account.revoked:
        return errors(
            401, "authentication", "Authentication error", "Please check your login and password"
        )
    given = params(req)
    numbers = given.get("destination_number") or []
    if not numbers or not all(n.strip() for n in numbers):
        return errors(400, "validation", "Invalid request", "destination_number is mandatory")
    rows = []
    sent: list[str] = []  # ids of messages this request sent (a replayed row sends nothing)
    with ctx.state.lock:
        for index in range(len(numbers)):
            request_id = _pick(given, "request_id", index)
            if request_id is not None and request_id in found["seen"]:
                rows.append(json.loads(json.dumps(found["seen"][request_id])))
                continue
            row = _row(ctx, found, given, index)
            if request_id is not None:
                found["seen"][request_id] = row
            rows.append(row)
            if row["attributes"]["status"] != "error":
                sent.append(row["id"])
    data = rows[0] if len(rows) == 1 else rows
    return document(200, {"data": data}, ref_no=sent[0] if sent else None)
