"""The channel table: each channel the fleet sends on, declared once, read by every layer.

A *channel* is a kind of message a record can hold (its ``channel`` field). Its row says:

================= ============================================================================
field             read by
================= ============================================================================
``request``       the producer: the provider's request model that validates what a backend
                  hands in (and so the ``payload`` the ledger keeps)
``destination``   the producer: what the record shows as its destination
``destination_field``, ``text_field``
                  the CLI (``nusaworker send <channel> <destination> <text>``)
``queue``         routing: the broker queue of its non-OTP sends
``provider``      the provider family (``nusaworker.providers`` registry) that sends it
``api``           credit: the account API it goes through — an auth failure pauses every
                  channel of that API; the probe reads that API's wallet
``wallet``        credit: the credit it spends — running out pauses every channel spending it
``cost``          credit: credits one message takes from its wallet (campaign pre-flight)
``min_cost``      credit: the least one message costs (a credit pause closes at that balance)
``polled``        tracking: whether its status is asked for by poll (else push only)
``tracked``       failover: whether a delivery state ever comes (by poll or push); a
                  tracked channel's slow deliveries count against its account
``statuses``      tracking: the status vocabulary its provider answers in
``send``          delivery: the client call that sends it; returns the provider's ref_no
``others``        delivery: the same call for the other provider families that can send it
                  (an account of any of them may be on the channel's route)
``phone_field``   the producer: the field holding a phone number (or a list of them), put in
                  the provider's form first (:mod:`nusaworker.phones`)
================= ============================================================================

Adding a channel is adding a row; nothing else names channels.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from nusaworker.errors import NusaWorkerError
from nusaworker.limits import DEFAULT as DEFAULT_LIMITS
from nusaworker.limits import Limits
from nusaworker.providers import (
    BroadcastRequest,
    NusaSMSClient,
    PhoneCheckRequest,
    ReplyRequest,
    SmsGroupRequest,
    SmsRequest,
    WhatsAppMediaRequest,
    WhatsAppMessageRequest,
)
from nusaworker.providers.nusasms.pricing import (
    WA_MEDIA_COST,
    WA_OFFICIAL_BROADCAST_COST,
    sms_cost,
    wa_text_cost,
)
from nusaworker.types import Priority

Api = Literal["json", "sms"]
Wallet = Literal["wa", "sms"]
Statuses = Literal["wa", "wa_official", "sms"]
# (client, payload, priority, *, message_id) → the provider's ref_no. ``message_id`` (the
# ledger's id) serves a provider that takes an idempotency id (the carrier API's request_id).
Send = Callable[..., "str | None"]


def _text(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str):
        raise ValueError(f"payload has no {field!r} text")
    return value


def _sms_payload_cost(payload: Mapping[str, Any]) -> int:
    return sms_cost(_text(payload, "text"), unicode=bool(payload.get("unicode")))


def _free(payload: Mapping[str, Any]) -> int:
    return 0


def _fixed(credits: int) -> Callable[[Mapping[str, Any]], int]:
    return lambda payload: credits


def _field(name: str) -> Callable[[BaseModel], str]:
    return lambda model: str(getattr(model, name))


def _numbers_summary(model: BaseModel) -> str:
    numbers = list(getattr(model, "phone_numbers", []))
    return ",".join(numbers[:3]) + ("…" if len(numbers) > 3 else "")


@dataclass(frozen=True)
class Channel:
    """One row of the table (see the module docstring for who reads which field)."""

    name: str
    request: type[BaseModel]
    destination: Callable[[BaseModel], str]
    destination_field: str
    text_field: str | None
    queue: str
    provider: str
    api: Api
    wallet: Wallet | None
    cost: Callable[[Mapping[str, Any]], int]
    min_cost: int
    polled: bool
    tracked: bool
    statuses: Statuses
    send: Send
    others: Mapping[str, Send] = field(default_factory=dict)
    # The request field holding a phone number (or a list of them), which the producer puts
    # in the provider's form first (nusaworker.phones); None: the destination is no number.
    phone_field: str | None = None

    @property
    def senders(self) -> Mapping[str, Send]:
        """The client call of every provider family that can send this channel."""
        return {self.provider: self.send, **self.others}

    def validate(self, fields: Mapping[str, Any], *, limits: Limits | None = None) -> BaseModel:
        """The request model of ``fields``; raises :class:`pydantic.ValidationError`.

        ``limits``: the bounds in force (:mod:`nusaworker.limits`; default: the table's)."""
        context = (limits or DEFAULT_LIMITS).context()
        return self.request.model_validate(dict(fields), context=context)

    def phones(self, fields: Mapping[str, Any]) -> tuple[str, ...]:
        """The fields of ``fields`` that hold phone numbers (a WhatsApp group id is not one)."""
        if self.phone_field is None or fields.get("is_group") is True:
            return ()
        return (self.phone_field,)


def _ref(result: Any) -> str | None:
    return getattr(result, "ref_no", None)


# What a NusaSMS WhatsApp payload means to WAChat (seed 002 takes the same names, but not the
# newer edition's ``channel``/``include_unsubscribe``, which only NusaSMS offers).
_WACHAT_FIELDS = ("sender", "queue", "is_group", "timeout")
_WACHAT_MEDIA_FIELDS = (*_WACHAT_FIELDS, "media_url", "media_base64", "file_name", "caption")


def _only(payload: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {name: payload[name] for name in names if payload.get(name) is not None}


def _wachat_text(client: Any, p: Mapping[str, Any], priority: Priority, **_: Any) -> str | None:
    fields = _only(p, _WACHAT_FIELDS)
    return _ref(client.send_whatsapp(p["destination"], p["message"], priority=priority, **fields))


def _wachat_media(client: Any, p: Mapping[str, Any], priority: Priority, **_: Any) -> str | None:
    fields = _only(p, _WACHAT_MEDIA_FIELDS)
    return _ref(client.send_whatsapp_media(p["destination"], priority=priority, **fields))


def _smartswitch_sms(
    client: Any, p: Mapping[str, Any], priority: Priority, *, message_id: str, **_: Any
) -> str | None:
    # The ledger's id is the hit's request_id: the carrier echoes it, and the same id goes out
    # on every retry of the hit (a carrier that de-duplicates sends it once).
    result = client.send_sms(p["destination"], p["text"], request_id=message_id, priority=priority)
    return str(result.message_id or result.request_id)


def _smsgateway24_sms(
    client: Any, p: Mapping[str, Any], priority: Priority, **_: Any
) -> str | None:
    # An OTP goes out as "urgent" (the phone sends it before its queue); the client does that
    # for priority "otp" by itself.
    return str(client.send(p["destination"], p["text"], priority=priority).sms_id)


def _check_numbers(
    client: NusaSMSClient, p: Mapping[str, Any], priority: Priority, **_: Any
) -> None:
    client.check_whatsapp_numbers(p["phone_numbers"], p.get("callback_url"), priority=priority)
    return None  # results arrive by callback; the check has no ref_no of its own


CHANNELS: dict[str, Channel] = {
    row.name: row
    for row in (
        Channel(
            name="wa",
            phone_field="destination",
            destination_field="destination",
            request=WhatsAppMessageRequest,
            destination=_field("destination"),
            text_field="message",
            queue="wa",
            provider="nusasms",
            api="json",
            wallet="wa",
            cost=lambda p: wa_text_cost(_text(p, "message")),
            min_cost=1,
            polled=True,
            tracked=True,
            statuses="wa",
            send=lambda client, p, priority, **_: _ref(
                client.send_whatsapp(priority=priority, **p)
            ),
            others={"wachat": _wachat_text},
        ),
        Channel(
            name="wa_media",
            phone_field="destination",
            destination_field="destination",
            request=WhatsAppMediaRequest,
            destination=_field("destination"),
            text_field="caption",
            queue="wa",
            provider="nusasms",
            api="json",
            wallet="wa",
            cost=_fixed(WA_MEDIA_COST),
            min_cost=WA_MEDIA_COST,
            polled=True,
            tracked=True,
            statuses="wa",
            send=lambda client, p, priority, **_: _ref(
                client.send_whatsapp_media(priority=priority, **p)
            ),
            others={"wachat": _wachat_media},
        ),
        Channel(
            name="wa_official",
            phone_field="destination",
            destination_field="destination",
            request=BroadcastRequest,
            destination=_field("destination"),
            text_field=None,
            queue="wa_official",
            provider="nusasms",
            api="json",
            wallet="wa",
            cost=_fixed(WA_OFFICIAL_BROADCAST_COST),
            min_cost=WA_OFFICIAL_BROADCAST_COST,
            polled=False,  # WA Official has no status endpoint: pushes only
            tracked=True,
            statuses="wa_official",
            send=lambda client, p, priority, **_: _ref(
                client.send_wa_official_broadcast(priority=priority, **p)
            ),
        ),
        Channel(
            name="wa_official_reply",
            destination_field="room_id",
            request=ReplyRequest,
            destination=_field("room_id"),
            text_field="text",
            queue="wa_official",
            provider="nusasms",
            api="json",
            wallet=None,  # a reply in an open room is free
            cost=_free,
            min_cost=0,
            polled=False,
            tracked=True,
            statuses="wa_official",
            send=lambda client, p, priority, **_: _ref(
                client.send_wa_official_reply(priority=priority, **p)
            ),
        ),
        Channel(
            name="sms",
            phone_field="destination",
            destination_field="destination",
            request=SmsRequest,
            destination=_field("destination"),
            text_field="text",
            queue="sms",
            provider="nusasms",
            api="sms",
            wallet="sms",
            cost=_sms_payload_cost,
            min_cost=1,
            polled=True,
            tracked=True,
            statuses="sms",
            send=lambda client, p, priority, **_: _ref(client.send_sms(priority=priority, **p)),
            others={"smartswitch": _smartswitch_sms, "smsgateway24": _smsgateway24_sms},
        ),
        Channel(
            # One SMS to every number of an address-book group (seed 000, sendsms/group). The
            # ref_no is the campaign name the provider makes, which has no DR of its own: the
            # record ends at ``sent``. Its cost is per member; the table counts one member (a
            # lower bound: the group's size is only known to the provider).
            name="sms_group",
            destination_field="group",
            request=SmsGroupRequest,
            destination=_field("group"),
            text_field="text",
            queue="sms",
            provider="nusasms",
            api="sms",
            wallet="sms",
            cost=_sms_payload_cost,
            min_cost=1,
            polled=False,
            tracked=False,
            statuses="sms",
            send=lambda client, p, priority, **_: _ref(
                client.send_sms_group(priority=priority, **p)
            ),
        ),
        Channel(
            # A phone check's results arrive by callback; it has no ref_no of its own.
            name="check",
            phone_field="phone_numbers",
            destination_field="phone_numbers",
            request=PhoneCheckRequest,
            destination=_numbers_summary,
            text_field=None,
            queue="check",
            provider="nusasms",
            api="json",
            wallet=None,
            cost=_free,
            min_cost=0,
            polled=False,
            tracked=False,
            statuses="wa",
            send=_check_numbers,
        ),
    )
}

NAMES: tuple[str, ...] = tuple(CHANNELS)


class UnknownChannel(NusaWorkerError, ValueError):
    """Raised when a channel name is not a row of the table."""

    retryable = False


def channel(name: str) -> Channel:
    """The row of ``name``; raises :class:`UnknownChannel` (a :class:`ValueError`)."""
    try:
        return CHANNELS[name]
    except KeyError:
        raise UnknownChannel(f"unknown channel {name!r} (one of: {', '.join(NAMES)})") from None


def pause_group(name: str, reason: Literal["auth", "credit"]) -> tuple[str, ...]:
    """The channels an account failure met on channel ``name`` pauses, itself included: for
    an auth failure every channel of its API; for credit every channel spending its wallet (a
    free channel's failure speaks for the wallets of its API)."""
    row = channel(name)
    if reason == "auth":
        group = [c.name for c in CHANNELS.values() if c.api == row.api]
    else:
        on_api = {c.wallet for c in CHANNELS.values() if c.api == row.api and c.wallet}
        wallets = {row.wallet} if row.wallet else on_api
        group = [c.name for c in CHANNELS.values() if c.wallet in wallets]
    return tuple(dict.fromkeys((*group, name)))


def of_api(api: Api) -> tuple[str, ...]:
    """The channels that go through account API ``api``."""
    return tuple(c.name for c in CHANNELS.values() if c.api == api)
