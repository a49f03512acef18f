"""The SMS ``command`` API's answers (CREDITS, DR), read defensively.

The documents give the requests (``GET /api/command?user&password&cmd=CREDITS&type=sms&output=
json``, ``cmd=DR&ref_no=…``) and, for the answer, only ``200 Response: null``: its shape is not
documented. So nothing here depends on one shape:

* any of the plausible ones is read — the SMS API's own ``{"results": [{…}]}`` and
  ``<results><result>…</result></results>``, a bare or nested JSON object, nested XML, or a
  plain-text answer (``1234.5``, ``Credits: 1,234``, ``DELIVERED``) — and a field is looked up
  under the names gateways use for it (``credits``/``credit``/``balance``…,
  ``dr_status``/``dlr_status``/``delivery_status``/a non-numeric ``status``…);
* a numeric ``status`` is the SMS API's status code: a negative one raises its documented error
  (:mod:`..codes`: ``-5`` login, ``-31`` unknown ref_no …); a positive one is kept as text;
* an answer that is well-formed but says nothing recognisable is not an error: the result is
  returned with ``known = False`` (for DR, ``state == "unknown"``), and ``raw`` keeps the
  answer as it came (credentials masked) so that an operator can see what the provider says;
* only a body that is empty or broken (truncated JSON, unbalanced XML) raises
  :class:`ValueError`: the answer was damaged on the way, and a read is retried.

The sandbox answers the shape first assumed here (``results`` wrapper; ``credits``,
``expired_date``; ``dr_status``, ``sent_date``, ``err_code``): docs/providers/nusasms.md.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from pydantic import field_validator

from ...classify import load_json
from ...fields import OptionalId, OptionalWord
from ..codes import SMS_CODES, sms_error
from .common import LenientDate, LenientDatetime, ResponseModel, Standing, standing

__all__ = [
    "DeliveryState",
    "SmsCredits",
    "SmsDeliveryReport",
    "flatten_answer",
    "read_credits",
    "read_delivery_report",
]

RAW_LIMIT = 2000
DeliveryState = Literal["pending", "delivered", "failed", "unknown"]

# DR words as carriers and gateways relay them (SMPP receipt stats included). Kept equal to the
# SMS table of nusaworker.tracking.statuses (tests/unit/test_providers_command.py checks).
DR_WORDS: dict[str, DeliveryState] = {
    **dict.fromkeys(("QUEUED", "PENDING", "ACCEPTED", "ACCEPTD", "ENROUTE", "SENT"), "pending"),
    **dict.fromkeys(("DELIVERED", "DELIVRD"), "delivered"),
    **dict.fromkeys(
        (
            "FAILED",
            "UNDELIV",
            "UNDELIVERED",
            "UNDELIVERABLE",
            "REJECTED",
            "REJECTD",
            "EXPIRED",
            "DELETED",
        ),
        "failed",
    ),
}

_CREDITS_KEYS = ("credits", "credit", "sms_credits", "sms_credit", "balance", "sms_balance")
_EXPIRY_KEYS = (
    "expired_date",
    "expiry_date",
    "expire_date",
    "expiration_date",
    "sms_expired_date",
    "valid_until",
    "expired",
    "expiry",
    "expires",
)
_DR_KEYS = ("dr_status", "dlr_status", "delivery_status", "dr", "dlr", "message_status", "state")
_REF_KEYS = ("ref_no", "messageid", "message_id", "msgid")
_DATE_KEYS = ("sent_date", "done_date", "delivered_date", "status_date", "date")
_ERR_KEYS = ("err_code", "error_code", "errcode")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WORD = re.compile(r"[A-Za-z][A-Za-z_-]*")


class _CommandAnswer(ResponseModel):
    """What every command answer keeps: the status code (if any), the raw answer, ``known``."""

    status: int | None = None
    raw: str = ""
    known: bool = False


class SmsCredits(_CommandAnswer):
    """``cmd=CREDITS``: the SMS credit left and when it expires.

    ``known`` is true when a credit figure was found; ``credits`` is ``None`` otherwise.
    """

    credits: float | None = None
    type: str | None = None
    expired_date: LenientDate = None

    @field_validator("credits", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return _to_number(value)

    def standing(self, *, today: date | None = None) -> Standing:
        """``ok``, ``empty`` (no credit), ``expired`` or ``unknown`` (nothing found)."""
        return standing(self.credits, self.expired_date, today=today)


class SmsDeliveryReport(_CommandAnswer):
    """``cmd=DR``: the delivery state of one SMS, by ``ref_no``.

    ``dr_status`` is the provider's word as it came; :attr:`state` reads it as ``pending``,
    ``delivered``, ``failed`` or ``unknown`` (a word not in :data:`DR_WORDS`, or none at all).
    """

    ref_no: OptionalId = None
    dr_status: OptionalWord = None
    sent_date: LenientDatetime = None
    err_code: OptionalWord = None

    @property
    def state(self) -> DeliveryState:
        """What the report says: pending, delivered, failed, or unknown."""
        return DR_WORDS.get((self.dr_status or "").strip().upper(), "unknown")

    @property
    def is_delivered(self) -> bool:
        """The provider reports the SMS as delivered."""
        return self.state == "delivered"

    @property
    def is_final(self) -> bool:
        """Delivered or failed: nothing more will happen."""
        return self.state in ("delivered", "failed")


# ------------------------------------------------------------------------------- reading


def _to_number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    found = _NUMBER.search(str(value))
    return float(found.group().replace(",", "")) if found else None


def _json_leaves(data: Any, into: dict[str, Any]) -> None:
    """Every scalar of ``data`` by lower-cased key, the shallowest first (first one wins)."""
    queue: list[Any] = [data]
    while queue:
        item = queue.pop(0)
        if isinstance(item, dict):
            for key, value in item.items():
                if isinstance(value, dict | list):
                    queue.append(value)
                else:
                    into.setdefault(str(key).strip().lower(), value)
        elif isinstance(item, list):
            queue.extend(item)


def flatten_answer(body: bytes | str) -> tuple[dict[str, Any], str]:
    """``(fields, text)`` of a command answer: its scalars by lower-cased name, and its text.

    JSON and XML give named fields; any other text gives none (the caller reads ``text``).
    Raises :class:`ValueError` for an empty body and for JSON or XML that is cut or broken.
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise ValueError("command answer is empty")
    fields: dict[str, Any] = {}
    if text[0] in "{[":
        try:
            data = load_json(text)
        except ValueError as exc:
            raise ValueError(f"command answer is broken JSON ({exc})") from None
        _json_leaves(data, fields)
        return fields, text
    if text.startswith("<"):
        # Entity declarations are the door to entity-expansion attacks; answers never need them.
        if "<!DOCTYPE" in text or "<!ENTITY" in text:
            raise ValueError("command answer XML carries a DOCTYPE; refused")
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise ValueError(f"command answer is broken XML ({exc})") from None
        for element in root.iter():
            if len(element) == 0:
                fields.setdefault(element.tag.strip().lower(), (element.text or "").strip())
        return fields, text
    return fields, text


def _pick(fields: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = fields.get(key)
        if value is not None and str(value).strip() != "":
            return value
    return None


def _status(fields: dict[str, Any], status_code: int) -> tuple[int | None, str | None]:
    """The numeric API status (after raising a documented error) and a non-numeric one."""
    value = fields.get("status")
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        return None, None
    text = str(value).strip()
    try:
        code = int(float(text))
    except (ValueError, OverflowError):
        return None, text
    if code < 0 or code in SMS_CODES:
        error = sms_error(code, status_code=status_code)
        if error is not None:
            raise error
    return code, None if code == 0 else text


def _raw(text: str, redact: Callable[[str], str]) -> str:
    return redact(text)[:RAW_LIMIT]


def read_credits(
    body: bytes | str, *, status_code: int = 200, redact: Callable[[str], str] = lambda t: t
) -> SmsCredits:
    """Read a CREDITS answer of any plausible shape (see the module docstring)."""
    fields, text = flatten_answer(body)
    code, _ = _status(fields, status_code)
    credits = _to_number(_pick(fields, _CREDITS_KEYS))
    expiry = _pick(fields, _EXPIRY_KEYS)
    if not fields:  # plain text: "1234.5", "Credits: 1,234 (exp 2027-12-31)"
        credits = _to_number(text)
        date = _DATE.search(text)
        expiry = date.group() if date else None
    kind = _pick(fields, ("type",))
    return SmsCredits.model_validate(
        {
            "status": code,
            "credits": credits,
            "type": None if kind is None else str(kind),
            "expired_date": None if expiry is None else str(expiry),
            "raw": _raw(text, redact),
            "known": credits is not None,
        }
    )


def read_delivery_report(
    body: bytes | str,
    *,
    ref_no: str | None = None,
    status_code: int = 200,
    redact: Callable[[str], str] = lambda t: t,
) -> SmsDeliveryReport:
    """Read a DR answer of any plausible shape (see the module docstring)."""
    fields, text = flatten_answer(body)
    code, word = _status(fields, status_code)
    dr = _pick(fields, _DR_KEYS)
    if dr is None:
        dr = word  # a non-numeric "status" is the delivery word itself
    if not fields:  # plain text: "DELIVERED", "status: DELIVRD"
        words = [w.upper() for w in _WORD.findall(text)]
        dr = next((w for w in words if w in DR_WORDS), None)
    report = SmsDeliveryReport.model_validate(
        {
            "status": code,
            "ref_no": _text(_pick(fields, _REF_KEYS)) or ref_no,
            "dr_status": _text(dr),
            "sent_date": _text(_pick(fields, _DATE_KEYS)),
            "err_code": _text(_pick(fields, _ERR_KEYS)),
            "raw": _raw(text, redact),
        }
    )
    report.known = report.state != "unknown"
    return report


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip() or None
