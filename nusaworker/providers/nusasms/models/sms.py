"""Request and response models of the NusaSMS SMS v3 API, and the reader of its answers.

The SMS API answers XML unless ``output=json`` is asked for; the client asks for JSON but reads
either, whatever the answer says it is. Answers are ``{"results": [{…}]}`` or
``<results><result>…</result></results>``; every value arrives as text. CREDITS and DR answers
are undocumented: :mod:`.command` reads them (their models are re-exported here).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any, Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from nusaworker.limits import Destination, Name, SmsText, limit_of

from ...classify import load_json
from ...fields import ProviderId
from ..codes import sms_error
from ..segments import SegmentInfo, count_segments, needs_unicode
from .command import SmsCredits, SmsDeliveryReport
from .common import (
    RequestModel,
    ResponseModel,
    normalize_phone,
)

__all__ = [
    "SmsCredits",
    "SmsDeliveryReport",
    "SmsGroupRequest",
    "SmsGroupResult",
    "SmsRequest",
    "SmsSendResult",
    "parse_sms_results",
    "read_sms_answer",
]


class _SmsSend(RequestModel):
    """What every SMS send shares. ``unicode`` left unset is decided from the text."""

    text: SmsText = Field(min_length=1)
    otp: bool = False
    unicode: bool | None = None
    output: Literal["json", "xml"] = "json"

    @model_validator(mode="after")
    def _decide_unicode(self, info: ValidationInfo) -> Self:
        required = needs_unicode(self.text)
        if self.unicode is None:
            self.unicode = required
        elif self.unicode is False and required:
            raise ValueError("unicode: the text has characters outside GSM-7; it cannot be False")
        parts = self.segments.segments
        limit = limit_of("sms.parts", info)
        if parts > limit:
            encoding = "UCS-2" if self.unicode else "GSM-7"
            raise ValueError(f"text: {parts} SMS parts ({encoding}), over the bound of {limit}")
        return self

    @property
    def segments(self) -> SegmentInfo:
        """How many SMS this text costs (see :mod:`nusaworker.providers.nusasms.segments`)."""
        return count_segments(self.text, unicode=bool(self.unicode))

    def _form(self) -> dict[str, str]:
        form = {"SMSText": self.text, "output": self.output}
        if self.unicode:
            form["unicode"] = "true"
        if self.otp:
            form["otp"] = "Y"
        return form


class SmsRequest(_SmsSend):
    """``POST /api/v3/sendsms/plain``: one SMS to one number (``GSM``)."""

    destination: Destination

    @field_validator("destination")
    @classmethod
    def _destination(cls, value: str) -> str:
        try:
            return normalize_phone(value)
        except ValueError as exc:
            raise ValueError(f"destination: {exc}") from None

    def to_form(self) -> dict[str, str]:
        """The form fields, credentials left out (the transport adds them to the body)."""
        return {**self._form(), "GSM": self.destination}


class SmsGroupRequest(_SmsSend):
    """``POST /api/v3/sendsms/group``: one SMS to every number of an address-book group."""

    group: Name = Field(min_length=1)

    def to_form(self) -> dict[str, str]:
        """The form fields, credentials left out (the transport adds them to the body)."""
        return {**self._form(), "group": self.group}


# ---------------------------------------------------------------------------------- answers


class _SmsAnswer(ResponseModel):
    """One ``result`` of an SMS answer; ``status`` is the SMS status code (0 = success)."""

    status: int | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        if isinstance(value, str):
            return int(value.strip()) if value.strip() else None
        return value


class SmsSendResult(_SmsAnswer):
    """A plain send's answer; ``ref_no`` is the provider's ``messageid``."""

    ref_no: ProviderId = Field(validation_alias="messageid")
    destination: str | None = None

    @property
    def messageid(self) -> str:
        """The provider's own name for :attr:`ref_no`."""
        return self.ref_no


class SmsGroupResult(_SmsAnswer):
    """A group send's answer; ``ref_no`` is the ``campaign_name`` the provider made for it."""

    ref_no: ProviderId = Field(validation_alias="campaign_name")
    group: str | None = None

    @property
    def campaign_name(self) -> str:
        """The provider's own name for :attr:`ref_no`."""
        return self.ref_no


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError("SMS answer holds a nested value where text was expected")


def _from_json(data: Any) -> list[dict[str, str]]:
    if isinstance(data, dict) and "results" in data:
        data = data["results"]
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError("SMS answer is JSON but not a list of results")
    return [{str(k): _as_text(v) for k, v in item.items()} for item in data]


def _leaf_fields(element: ET.Element) -> dict[str, str]:
    return {child.tag: (child.text or "").strip() for child in element}


def _from_xml(text: str) -> list[dict[str, str]]:
    # Entity declarations are the door to entity-expansion attacks; answers never need them.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise ValueError("SMS answer XML carries a DOCTYPE; refused")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"SMS answer is not well-formed XML ({exc})") from None
    results = root.findall("result") if root.tag != "result" else [root]
    if not results and root.tag == "results" and all(len(child) == 0 for child in root):
        results = [root] if len(root) else []  # a bare <results><status>…</status></results>
    if not results:
        raise ValueError("SMS answer XML has no <result>")
    return [_leaf_fields(item) for item in results]


def parse_sms_results(body: bytes | str, content_type: str | None = None) -> list[dict[str, str]]:
    """Read an SMS v3 answer, JSON or XML, into a list of ``{field: text}``.

    The body decides, not ``content_type`` alone: gateways mislabel. Raises :class:`ValueError`
    when the body is empty or neither readable JSON nor readable XML.
    """
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise ValueError("SMS answer is empty")
    if text.startswith("<"):
        return _from_xml(text)
    if text[0] in "{[":
        try:
            data = load_json(text)
        except ValueError as exc:
            raise ValueError(f"SMS answer is not valid JSON ({exc})") from None
        return _from_json(data)
    kind = (content_type or "unknown").split(";")[0]
    raise ValueError(f"SMS answer is neither JSON nor XML (content type {kind})")


def read_sms_answer(
    body: bytes | str,
    content_type: str | None = None,
    *,
    status_code: int = 200,
    need_status: bool = True,
) -> dict[str, str]:
    """The first result of an SMS answer, after its ``status`` code was checked.

    A negative status raises its error from :mod:`nusaworker.providers.nusasms.codes`; an answer
    without a status is unreadable (:class:`ValueError`) when ``need_status`` (sends: success
    must be explicit).
    """
    first = parse_sms_results(body, content_type)[0]
    status = (first.get("status") or "").strip()
    if status:
        try:
            code = int(status)
        except ValueError:
            raise ValueError(f"SMS answer status is not a number: {status[:20]!r}") from None
        error = sms_error(code, status_code=status_code)
        if error is not None:
            raise error
    elif need_status:
        raise ValueError("SMS answer has no status")
    return first
