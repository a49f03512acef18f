"""Upper bounds on everything a request carries, and the refusal of control characters.

Issue 13 found the producer accepting a 10,000,000-character WhatsApp text (~6,700 credits,
10 MB in Redis), a NUL byte and a 2,000-character SMS. Every text, caption, name, file name,
URL and list of every request model therefore has an upper bound, declared once in
:data:`BOUNDS` with its source: a seed document and section, or ``ours`` with the reason
(docs/limits.md is the table). The request models carry the bound in their JSON schema
(``maxLength``/``maxItems``; ``tests/unit/test_limits_schema.py`` fails on a string or list
field without one) and check it when they validate, so a refusal is the
:class:`pydantic.ValidationError` the producer already raises, naming the field.

Control characters — C0 (``\\x00``-``\\x1f``), DEL and C1 (``\\x80``-``\\x9f``) — are refused in
every bounded text; ``\\n``, ``\\r`` and ``\\t`` only where a text may hold lines (a message, a
caption, a template). Lone surrogates are refused too: no encoder can write them, so such a
text would fail in Redis, not here.

``NUSAWORKER_LIMITS`` (JSON, ``{"wa.message": 1500}``) lowers our bounds for a deployment —
never raises one above this table. The lowered bounds travel in the validation context
(:meth:`Limits.context`): the producer validates with them at the edge; a worker that
rebuilds a request model from a recorded payload validates with the table's, which are never
lower, so a message accepted is never refused later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, Field, ValidationInfo

__all__ = [
    "BOUNDS",
    "Bound",
    "Limits",
    "check_controls",
    "limit_of",
]


@dataclass(frozen=True)
class Bound:
    """One upper bound: ``limit`` ``unit`` at most, and where that figure comes from."""

    limit: int
    unit: str
    source: str


KB = 1000
MB = 1000 * KB
# The largest media file the documents allow (1 MB, mp4/webm), as base64 (4 characters per 3
# bytes) with room for MIME line breaks (2 characters per 76): what media_base64 may hold.
_BASE64_MB = (MB + 2) // 3 * 4 * 78 // 76 + 4

BOUNDS: dict[str, Bound] = {
    "wa.message": Bound(
        4_096,
        "characters",
        "ours: the seeds bound no WhatsApp text (seed 000 'Send Message' only prices it, 1 "
        "credit per started 1,500 characters); 4,096 is WhatsApp's own text limit, 3 credits",
    ),
    "wa.caption": Bound(
        1_024,
        "characters",
        "ours: the seeds bound no caption (seed 000 'Send Media'); WhatsApp's own caption limit",
    ),
    "sms.text": Bound(
        1_530,
        "characters",
        "seed 000/001 'Send SMS': 'Text message (160 characters)' per part; 10 parts of 153 "
        "GSM-7 characters at most (ours, with sms.parts)",
    ),
    "sms.parts": Bound(
        10,
        "parts",
        "ours: 10 concatenated parts (1,530 GSM-7 / 670 UCS-2 characters, GSM 03.38); the "
        "seeds give one part, 160 characters, and are silent on concatenation",
    ),
    "reply.text": Bound(
        4_096,
        "characters",
        "ours: seed 001 'Send Reply Message' bounds no text; as a WhatsApp text",
    ),
    "template.value": Bound(
        1_024,
        "characters",
        "ours: seed 001 'Send Broadcast Message' bounds no parameter value",
    ),
    "parameters.bytes": Bound(
        16_384,
        "bytes of JSON",
        "ours: seed 001 'Send Broadcast Message' bounds no parameters; a template has a few",
    ),
    "parameters.items": Bound(
        100, "items", "ours: per parameters list (body, buttons, header params)"
    ),
    "media_base64": Bound(
        _BASE64_MB,
        "characters",
        "seed 000 'Send Media': max media size 1 MB (mp4, webm), as base64 with line breaks; "
        "the per-type sizes (512 KB for jpg/png/pdf) are checked on the decoded bytes",
    ),
    "url": Bound(
        2_048,
        "characters",
        "ours: the seeds bound no URL; 2,048 is what browsers and proxies reliably carry",
    ),
    "file_name": Bound(255, "characters", "ours: the longest file name common file systems keep"),
    "name": Bound(
        256,
        "characters",
        "ours: a recipient's name (destination_name), an address-book group, a campaign column",
    ),
    "id": Bound(
        128,
        "characters",
        "ours: a sender, a device queue, a request id; every documented id is under 40",
    ),
    "destination": Bound(
        64,
        "characters",
        "seed 000 'Whatsapp API Introduction': a number (max 15 digits, E.164) or a group id "
        "'<digits>-<digits>'; 64 leaves room for the spaces and dashes people write",
    ),
    "sender_name": Bound(
        11,
        "characters",
        "ours: seed 003 bounds no source_name; an alphanumeric SMS sender is 11 characters "
        "(GSM 03.40)",
    ),
    "recipients": Bound(
        2_100,
        "characters",
        "ours: seed 004 'sendto' takes comma-separated numbers without a bound; 100 of 20",
    ),
    "phone_numbers": Bound(
        100,
        "items",
        "seed 000 'Check Wa Phone Number': 'Max number of Phone number per each request is "
        "100 numbers'",
    ),
    "destinations": Bound(
        100, "items", "ours: seed 003 sets none; the query string carries them (smartswitch)"
    ),
    "check.numbers": Bound(
        10_000,
        "items",
        "ours: numbers per producer call of check_whatsapp_numbers (coalesced into 100-number "
        "hits); a campaign asks through its own path",
    ),
    "idempotency_key": Bound(200, "characters", "ours: a key a backend makes, not a payload"),
    "campaign.name": Bound(200, "characters", "ours: long enough for any name, short for a line"),
    "campaign.template": Bound(
        4_096, "characters", "ours: as wa.message, the longest text a row may become"
    ),
    "campaign.window": Bound(64, "characters", "ours: '08:00-20:00 Asia/Jakarta' is 24"),
    "timetosend": Bound(19, "characters", "seed 004 'addsms': 'YYYY-MM-DD HH:MM:SS'"),
}

# C0, DEL, C1 and lone surrogates; the second allows line breaks and tabs.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_CONTROLS_BUT_LINES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def check_controls(value: str, *, lines: bool) -> str:
    """``value`` if it holds no control character (``lines``: ``\\n``, ``\\r``, ``\\t`` allowed);
    else :class:`ValueError` saying which one and where (never the text itself)."""
    found = (_CONTROLS_BUT_LINES if lines else _CONTROLS).search(value)
    if found is None:
        return value
    char = found.group()
    kind = "a lone surrogate" if "\ud800" <= char <= "\udfff" else "a control character"
    return _refuse(f"holds {kind} (U+{ord(char):04X}) at position {found.start()}")


def _refuse(reason: str) -> str:
    raise ValueError(reason)


class Limits:
    """The bounds in force: :data:`BOUNDS`, some lowered for a deployment.

    ``Limits({"wa.message": 1500})``; raises :class:`ValueError` for an unknown name, a bound
    under 1, or one above the table's (the documents' or ours: a deployment may only be
    stricter).
    """

    def __init__(self, lowered: Mapping[str, int] | None = None) -> None:
        lowered = dict(lowered or {})
        for name, value in lowered.items():
            if name not in BOUNDS:
                raise ValueError(f"unknown limit {name!r} (one of: {', '.join(BOUNDS)})")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {name!r} must be a whole number from 1")
            if value > BOUNDS[name].limit:
                raise ValueError(
                    f"limit {name!r} may only lower the bound: at most {BOUNDS[name].limit} "
                    f"{BOUNDS[name].unit}, got {value}"
                )
        self.lowered = lowered

    def of(self, name: str) -> int:
        """The bound ``name`` in force."""
        return self.lowered.get(name, BOUNDS[name].limit)

    def context(self) -> dict[str, Any]:
        """The validation context that makes request models check these bounds."""
        return {"limits": self}

    def __repr__(self) -> str:
        return f"Limits({self.lowered!r})"


DEFAULT = Limits()


def limit_of(name: str, info: ValidationInfo | None) -> int:
    """The bound ``name`` for a validation: the context's :class:`Limits`, else the table's."""
    context = info.context if info is not None else None
    limits = context.get("limits") if isinstance(context, dict) else None
    return (limits if isinstance(limits, Limits) else DEFAULT).of(name)


def _checker(name: str, lines: bool) -> Callable[[str, ValidationInfo], str]:
    unit = BOUNDS[name].unit

    def check(value: str, info: ValidationInfo) -> str:
        check_controls(value, lines=lines)
        limit = limit_of(name, info)
        if len(value) > limit:
            raise ValueError(f"{len(value)} {unit}, over the bound of {limit} ({name})")
        return value

    return check


def _field(name: str) -> Any:
    return Field(max_length=BOUNDS[name].limit)


# The bounded text types of the request models, one per kind of field (mypy needs each spelled
# out as an Annotated alias). ``…Lines``: line breaks and tabs allowed.
WaMessage = Annotated[str, _field("wa.message"), AfterValidator(_checker("wa.message", True))]
Caption = Annotated[str, _field("wa.caption"), AfterValidator(_checker("wa.caption", True))]
SmsText = Annotated[str, _field("sms.text"), AfterValidator(_checker("sms.text", True))]
ReplyText = Annotated[str, _field("reply.text"), AfterValidator(_checker("reply.text", True))]
TemplateValue = Annotated[
    str, _field("template.value"), AfterValidator(_checker("template.value", True))
]
Base64 = Annotated[str, _field("media_base64"), AfterValidator(_checker("media_base64", True))]
Url = Annotated[str, _field("url"), AfterValidator(_checker("url", False))]
FileName = Annotated[str, _field("file_name"), AfterValidator(_checker("file_name", False))]
Name = Annotated[str, _field("name"), AfterValidator(_checker("name", False))]
Id = Annotated[str, _field("id"), AfterValidator(_checker("id", False))]
Destination = Annotated[str, _field("destination"), AfterValidator(_checker("destination", False))]
SenderName = Annotated[str, _field("sender_name"), AfterValidator(_checker("sender_name", False))]
Recipients = Annotated[str, _field("recipients"), AfterValidator(_checker("recipients", False))]
IdempotencyKey = Annotated[
    str, _field("idempotency_key"), AfterValidator(_checker("idempotency_key", False))
]
CampaignName = Annotated[
    str, _field("campaign.name"), AfterValidator(_checker("campaign.name", False))
]
CampaignTemplate = Annotated[
    str, _field("campaign.template"), AfterValidator(_checker("campaign.template", True))
]
CampaignWindow = Annotated[
    str, _field("campaign.window"), AfterValidator(_checker("campaign.window", False))
]
TimeToSend = Annotated[str, _field("timetosend"), AfterValidator(_checker("timetosend", False))]


def check_list(value: list[Any], name: str, info: ValidationInfo | None) -> list[Any]:
    """``value`` if it has no more items than the bound ``name`` in force, else ValueError."""
    limit = limit_of(name, info)
    if len(value) > limit:
        raise ValueError(f"{len(value)} items, over the bound of {limit} ({name})")
    return value
