"""What SmsGateway24 answers: the ``{"error", "message"}`` frame and each call's payload.

Answer models keep fields the document does not (yet) describe, accept numbers written as
text (and text written as numbers), and never fail on a status code they do not know: the
code is kept verbatim beside its title, and :func:`~..codes.final_state` says what it means.
Lists keyed by id (``"device": {"1576": {...}}``, ``"smss": {"62050971": {...}}``) are read
as lists; a plain JSON list is accepted too.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from ...fields import OptionalWord
from ..codes import STATUS_CODES, FinalState, final_state

__all__ = [
    "Answer",
    "BulkResult",
    "Device",
    "DeviceList",
    "MessageList",
    "SendResult",
    "SimInfo",
    "SmsMessage",
    "SmsStatus",
    "TokenAnswer",
]


def _lenient_int(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() == "null":
            return None
        try:
            return int(text)
        except ValueError:
            return value  # let validation say what is wrong
    return value


def _lenient_text(value: Any) -> Any:
    # The phone app writes a missing value as the text "null" (the document's device 1297).
    if isinstance(value, str):
        text = value.strip()
        return None if not text or text.lower() == "null" else text
    return value


def _by_id(value: Any) -> Any:
    """``{"id": {...}, …}`` → ``[{...}, …]``; a list stays a list; ``null`` is empty."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, coerce_numbers_to_str=True)


class Answer(_Lenient):
    """The frame of every answer: ``error`` is 0 or 1, ``message`` empty when all is well."""

    error: int = 0
    message: str | None = None

    @field_validator("error", mode="before")
    @classmethod
    def _error(cls, value: Any) -> Any:
        if value is None or value is False:
            return 0
        if value is True:
            return 1
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("", "0", "false"):
                return 0
            if text in ("1", "true"):
                return 1
        return value


class TokenAnswer(Answer):
    """``gettoken``: the token (kept secret: it is as good as the password for a while)."""

    token: SecretStr

    @field_validator("token", mode="before")
    @classmethod
    def _token(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("no token in the answer")
        return value.strip()


class SendResult(Answer):
    """``addsms``: the id of the message the provider created."""

    # An id the ledger keeps (as the ref_no): a positive 64-bit number, as ids are.
    sms_id: int = Field(ge=1, lt=2**63)

    _id = field_validator("sms_id", mode="before")(_lenient_int)


class BulkResult(Answer):
    """``addalotofsms``: the document answers only ``error`` and ``message``.

    ``sms_ids`` holds the created ids should the provider add them (it is not documented).
    """

    sms_ids: list[int] | None = None


class SmsStatus(Answer):
    """``getsmsstatus``: where one message stands. ``status`` is kept verbatim."""

    sms_id: int | None = Field(default=None, ge=1, lt=2**63)
    status: int | None = Field(default=None, ge=-(2**31), lt=2**31)
    status_description: OptionalWord = None

    _ints = field_validator("sms_id", "status", mode="before")(_lenient_int)

    @property
    def known(self) -> bool:
        """True when the document names this status code."""
        return self.status in STATUS_CODES

    @property
    def state(self) -> FinalState | None:
        """The final state (sent/delivered/read/failed), or ``None`` while on its way."""
        return final_state(self.status, self.status_description)

    @property
    def is_final(self) -> bool:
        """True once the status will not change any more."""
        return self.state is not None


class SimInfo(_Lenient):
    """One SIM of a device (``siminfo``), as the phone reports it."""

    slot: int | None = Field(default=None, alias="Slot")
    icc_id: str | None = Field(default=None, alias="IccId")
    number: str | None = Field(default=None, alias="Number")
    roaming: bool | None = Field(default=None, alias="Roaming")
    country_iso: str | None = Field(default=None, alias="CountryIso")
    carrier_name: str | None = Field(default=None, alias="CarrierName")

    _slot = field_validator("slot", mode="before")(_lenient_int)
    _text = field_validator("number", "icc_id", "country_iso", "carrier_name", mode="before")(
        _lenient_text
    )

    @field_validator("roaming", mode="before")
    @classmethod
    def _roaming(cls, value: Any) -> Any:
        if isinstance(value, str):
            return value.strip() not in ("", "0", "false")
        return value


class Device(_Lenient):
    """One phone running the gateway app: its id, SIMs and its own sending delays."""

    id: int
    title: str | None = None
    number: str | None = None
    imei: str | None = None
    serialnumber: str | None = None
    siminfo: list[SimInfo] = Field(default_factory=list)
    appversion: str | None = None
    isappversionactual: bool | None = None
    # Seconds between two messages of this phone, and between two of its server polls: the
    # device's own pace (the API itself states no rate rule).
    delaybetweeneachsms: float | None = None
    delaybetweenrequest: float | None = None
    subscription: bool | None = None
    lastseenhumanformat: str | None = None

    _id = field_validator("id", mode="before")(_lenient_int)
    _text = field_validator("number", "imei", "title", mode="before")(_lenient_text)

    @field_validator("siminfo", mode="before")
    @classmethod
    def _sims(cls, value: Any) -> Any:
        return _by_id(value)

    @property
    def slots(self) -> list[int]:
        """The SIM slots the phone reported, in order (may be empty)."""
        return [s.slot for s in self.siminfo if s.slot is not None]


class DeviceList(Answer):
    """The account's devices (the document's ``device`` object, keyed by id)."""

    count: int | None = None
    devices: list[Device] = Field(default_factory=list, alias="device")

    _devices = field_validator("devices", mode="before")(_by_id)


class SmsMessage(_Lenient):
    """One message as the message list reports it."""

    id: int
    sendto: str | None = None
    body: str | None = None
    customerid: int | None = None
    status: int | None = None
    statustitle: str | None = None
    deviceid: int | None = None
    urgent: int | None = None
    senttime: Any = None
    timetosend: Any = None
    created: Any = None

    _ints = field_validator("id", "customerid", "status", "deviceid", "urgent", mode="before")(
        _lenient_int
    )

    @property
    def state(self) -> FinalState | None:
        """The final state (sent/delivered/read/failed), or ``None`` while on its way."""
        return final_state(self.status, self.statustitle)


class MessageList(Answer):
    """``getallsms``: the messages matching the filters (or only their ``count``)."""

    count: int | None = None
    messages: list[SmsMessage] = Field(default_factory=list, alias="smss")

    _messages = field_validator("messages", mode="before")(_by_id)
