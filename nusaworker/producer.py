"""The public enqueue API that backends call.

Each call validates its input with the provider layer's own request models (bad input raises
:class:`pydantic.ValidationError` naming the field, and nothing is written), writes the ledger
record (state ``accepted``), enqueues one Celery task carrying only the message id, and returns
the id at once. ``validity_s`` (every call) bounds how long after acceptance the message may
still be sent; past it, unsent, it ends ``expired`` instead of arriving late. Without it a
message gets its priority's default (``NUSAWORKER_VALIDITY_S``: 300 s for OTPs, none else).

The module-level functions use a producer built from the environment on first use; a backend
that wants explicit wiring builds its own :class:`Producer`.

The producer refuses nothing because a number is on the suppression list (that is the
campaigns' concern: a transactional message still goes out); it exposes the list —
:meth:`Producer.is_suppressed`, :func:`suppress`, :func:`unsuppress` — for a backend to ask.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from celery import Celery
from pydantic import BaseModel, Field

from nusaworker.channels import channel as channel_row
from nusaworker.errors import NusaWorkerError
from nusaworker.factories import broker_app, ledger_of
from nusaworker.ledger import (
    Ledger,
    MessageRecord,
    MessageState,
    RecordNotFound,
    new_message_id,
)
from nusaworker.limits import BOUNDS, IdempotencyKey, Limits, SmsText
from nusaworker.phonecheck import Answers, InvalidCheckNumber, PhoneChecks
from nusaworker.phones import InvalidPhoneNumber, provider_number
from nusaworker.retries import RetryRules
from nusaworker.routing import enqueue_send
from nusaworker.settings import Settings, load_settings
from nusaworker.suppression import SuppressionList
from nusaworker.types import Priority

log = logging.getLogger(__name__)


class EnqueueError(NusaWorkerError):
    """Raised when a message was recorded but its task could not be handed to the broker.

    The record stays ``accepted``; the replay sweep re-enqueues it, so it is not lost.
    """

    retryable = True


MAX_SECONDS = 10 * 365 * 24 * 3600.0
# A message id is a UUID (36 characters); anything much longer is not one.
MAX_MESSAGE_ID = 64


class EnqueueOptions(BaseModel):
    """What every producer call takes besides the message itself.

    ``fallback_after_s``: if the message is not delivered (or read) this long after its
    acceptance, an SMS goes to the same number through the SMS route — ``fallback_text``, or
    the message's own text (see :mod:`nusaworker.tracking.fallback`).
    """

    priority: Priority = "normal"
    idempotency_key: IdempotencyKey | None = Field(default=None, min_length=1)
    # At most ten years: a finite number that the ledger's arithmetic and JSON can carry.
    validity_s: float | None = Field(default=None, gt=0, le=MAX_SECONDS)
    fallback_after_s: float | None = Field(default=None, gt=0, le=MAX_SECONDS)
    fallback_text: SmsText | None = Field(default=None, min_length=1)


class FallbackError(NusaWorkerError, ValueError):
    """Raised when a fallback is asked for a message that cannot have one (its channel gives
    no delivery state or no phone number, or there is no text to send)."""

    retryable = False


# The channels a fallback SMS may follow: a delivery state comes, to one phone number.
FALLBACK_FROM = ("wa", "wa_media", "wa_official")
FALLBACK_CHANNEL = "sms"


class Producer:
    """Validates, records and enqueues messages."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        app: Celery,
        rules: RetryRules | None = None,
        suppression: SuppressionList | None = None,
        phone_checks: PhoneChecks | None = None,
        limits: Limits | None = None,
        region: str = "ID",
    ) -> None:
        self.ledger = ledger
        self.app = app
        # The bounds in force (NUSAWORKER_LIMITS may lower the documented ones) and the region
        # a national number ("0812…") is read in (NUSAWORKER_DEFAULT_REGION).
        self.limits = limits or Limits()
        self.region = region
        # Only the default validities are read here; the budgets are the workers'.
        self.rules = rules or RetryRules.defaults()
        self.suppression = suppression or SuppressionList(
            ledger.redis, keys=ledger.keys, region=region
        )
        # Defaults (7-day TTL, 2 s linger) unless wired from settings: the producer only asks
        # and reads; the linger and cap are the dispatcher's.
        self.phone_checks = phone_checks or PhoneChecks(ledger.redis, keys=ledger.keys)

    @classmethod
    def from_settings(cls, settings: Settings) -> Producer:
        """A producer wired for ``settings``: an edge Redis client (short timeouts, a few
        quick retries) for the ledger and a Celery app on the fleet's broker."""
        client, ledger = ledger_of(settings)
        return cls(
            ledger=ledger,
            app=broker_app(settings),
            rules=RetryRules.from_settings(settings),
            phone_checks=PhoneChecks.from_settings(client, settings),
            limits=settings.edge_limits(),
            region=settings.default_region,
        )

    def submit(
        self,
        channel: str,
        /,
        *,
        priority: str | None = None,
        idempotency_key: str | None = None,
        validity_s: float | None = None,
        fallback_after_s: float | None = None,
        fallback_text: str | None = None,
        **fields: Any,
    ) -> str:
        """Accept a message of any channel of the table (:mod:`nusaworker.channels`); ``fields``
        are its request model's. Returns the message id at once. ``channel`` is positional
        only: a WhatsApp send has a ``channel`` field of its own (seed 001, the sender channel).

        ``priority`` defaults to ``otp`` for a message sent with ``otp=True``, else ``normal``.
        Phone numbers are put in the provider's form first (:mod:`nusaworker.phones`:
        ``+62 812-3456-7890`` and ``0812 3456 7890`` → ``6281234567890``). Every text and list
        is bounded (:mod:`nusaworker.limits`). Raises
        :class:`~nusaworker.channels.UnknownChannel`, :class:`pydantic.ValidationError`
        (naming the field), :class:`~nusaworker.phones.InvalidPhoneNumber` or
        :class:`FallbackError` before anything is written.
        """
        row = channel_row(channel)
        fields = self._numbers(row.phones(fields), fields)
        chosen = priority or ("otp" if fields.get("otp") is True else "normal")
        options = EnqueueOptions(
            priority=chosen,
            idempotency_key=idempotency_key,
            validity_s=validity_s,
            fallback_after_s=fallback_after_s,
            fallback_text=fallback_text,
        )
        model = row.validate(fields, limits=self.limits)
        fallback = _fallback(row.name, model, options, self.limits)
        return self._accept(row.name, row.destination(model), model, options, fallback)

    def _numbers(self, names: tuple[str, ...], fields: dict[str, Any]) -> dict[str, Any]:
        """``fields`` with the phone numbers of ``names`` in the provider's form."""
        for name in names:
            value = fields.get(name)
            try:
                if isinstance(value, str):
                    fields[name] = provider_number(value, region=self.region)
                elif isinstance(value, list) and len(value) <= BOUNDS["phone_numbers"].limit:
                    fields[name] = [self._number(name, i, v) for i, v in enumerate(value)]
            except InvalidPhoneNumber as exc:
                raise InvalidPhoneNumber(f"{name}: {exc}") from None
        return fields

    def _number(self, name: str, index: int, value: Any) -> Any:
        try:
            return provider_number(value, region=self.region)
        except InvalidPhoneNumber as exc:
            raise InvalidPhoneNumber(f"[{index}]: {exc}") from None

    def _accept(
        self,
        channel: str,
        destination: str,
        model: BaseModel,
        options: EnqueueOptions,
        fallback: dict[str, Any] | None = None,
    ) -> str:
        record = MessageRecord(
            id=new_message_id(),
            channel=channel,
            destination=destination,
            priority=options.priority,
            state=MessageState.ACCEPTED,
            payload=model.model_dump(mode="json", exclude_none=True),
            idempotency_key=options.idempotency_key,
            created_at=time.time(),
            validity_s=options.validity_s or self.rules.validity(options.priority),
            fallback=fallback,
        )
        message_id, created = self.ledger.create(record, idempotency_key=options.idempotency_key)
        if not created:
            return message_id  # the same call came before: one record, one task
        if fallback is not None:
            self.ledger.schedule_fallback(message_id, record.created_at + fallback["after_s"])
        try:
            enqueue_send(self.app.send_task, message_id, channel, options.priority)
        except Exception as exc:  # kombu/redis errors of many kinds: all mean "not enqueued"
            log.error("message %s recorded but not enqueued: %s", message_id, exc)
            raise EnqueueError(
                f"message {message_id} is recorded but its task was not enqueued "
                f"({type(exc).__name__}); the replay sweep will enqueue it"
            ) from exc
        return message_id

    # The named calls of the public contract: each is one row of the channel table.

    def send_whatsapp(self, destination: str, message: str, **options: Any) -> str:
        """Accept a WhatsApp text message; returns its message id."""
        return self.submit("wa", destination=destination, message=message, **options)

    def send_whatsapp_media(self, destination: str, **options: Any) -> str:
        """Accept a WhatsApp media message (``media_url``, or ``media_base64`` with a
        ``file_name``; ``caption``)."""
        return self.submit("wa_media", destination=destination, **options)

    def send_sms(self, destination: str, text: str, *, otp: bool = False, **options: Any) -> str:
        """Accept an SMS; ``otp=True`` sends it on the OTP route and queue."""
        return self.submit("sms", destination=destination, text=text, otp=otp, **options)

    def send_sms_group(self, group: str, text: str, *, otp: bool = False, **options: Any) -> str:
        """Accept one SMS to every number of an address-book group (the provider's)."""
        return self.submit("sms_group", group=group, text=text, otp=otp, **options)

    def send_wa_official_broadcast(
        self,
        destination: str,
        destination_name: str,
        template_id: str,
        channel_id: str,
        parameters: dict[str, Any] | None = None,
        **options: Any,
    ) -> str:
        """Accept a WhatsApp Official template broadcast."""
        return self.submit(
            "wa_official",
            destination=destination,
            destination_name=destination_name,
            template_id=template_id,
            channel_id=channel_id,
            parameters=parameters,
            **options,
        )

    def send_wa_official_reply(self, room_id: str, **options: Any) -> str:
        """Accept a WhatsApp Official reply into an open room (``type``, ``text``,
        ``file_url``)."""
        return self.submit("wa_official_reply", room_id=room_id, **options)

    def check_whatsapp_numbers(self, numbers: Iterable[str]) -> str:
        """Ask which of ``numbers`` are on WhatsApp; returns a check id (``pc-…``) at once.

        The numbers (up to 10,000 a call, the ``check.numbers`` bound; in the provider's form
        after :func:`nusaworker.phones.provider_number`) go through the fleet's phone
        check coalescer (:mod:`nusaworker.phonecheck`): those cached are answered now, the rest
        join the next 100-number ``check`` message, shared with every other asker.
        :meth:`phone_check_results` with the id gives the answers so far; each push also
        reaches the hooks as a ``phone_check`` event. Raises
        :class:`~nusaworker.phonecheck.InvalidCheckNumber` before anything is queued.
        """
        if isinstance(numbers, str | bytes) or not isinstance(numbers, Iterable):
            raise InvalidCheckNumber("numbers: a list of numbers, not a single value")
        limit = self.limits.of("check.numbers")
        wanted = list(itertools.islice(numbers, limit + 1))
        if len(wanted) > limit:
            raise InvalidCheckNumber(f"numbers: over the bound of {limit} a call (check.numbers)")
        self.phone_checks.request(wanted)
        return self.phone_checks.remember(wanted)

    def phone_check_results(self, check_id: str) -> Answers:
        """Number → ``True``/``False`` (on WhatsApp or not) or ``None`` (pending) for the
        numbers of a check id; raises :class:`~nusaworker.phonecheck.UnknownCheck`."""
        return self.phone_checks.results(check_id)

    def get_message(self, message_id: str) -> MessageRecord:
        """The ledger record of ``message_id`` (raises ``RecordNotFound``)."""
        if not isinstance(message_id, str) or not 0 < len(message_id) <= MAX_MESSAGE_ID:
            # Not an id at all: refused without a Redis key of its size or its repr in the error.
            raise RecordNotFound(repr(message_id)[:MAX_MESSAGE_ID])
        return self.ledger.get(message_id)

    def is_suppressed(self, destination: str) -> bool:
        """Whether ``destination`` is on the suppression list (it opted out, or was put there);
        raises :class:`~nusaworker.suppression.InvalidNumber` for what is not a number."""
        return self.suppression.contains(destination)

    def suppress(self, destination: str, *, note: str = "") -> bool:
        """Put ``destination`` on the suppression list (source ``api``, with ``note``);
        whether it was new — a number already there keeps its first entry."""
        return self.suppression.add(destination, source="api", note=note)

    def unsuppress(self, destination: str, *, note: str = "") -> bool:
        """Take ``destination`` off the suppression list; whether it was on it."""
        return self.suppression.remove(destination, source="api", note=note)


def _fallback(
    channel: str, model: BaseModel, options: EnqueueOptions, limits: Limits
) -> dict[str, Any] | None:
    """The fallback of a message (validated now, at the edge, like the message), or None."""
    if options.fallback_after_s is None:
        if options.fallback_text is not None:
            raise FallbackError("fallback_text needs fallback_after_s")
        return None
    if channel not in FALLBACK_FROM:
        raise FallbackError(
            f"a fallback follows {', '.join(FALLBACK_FROM)} messages, not {channel!r}"
        )
    text_field = channel_row(channel).text_field
    text = options.fallback_text or (getattr(model, text_field, None) if text_field else None)
    if not text:
        raise FallbackError(f"a {channel!r} message has no text to fall back on: fallback_text")
    destination = str(getattr(model, "destination", ""))
    sms = channel_row(FALLBACK_CHANNEL).validate(
        {"destination": destination, "text": text}, limits=limits
    )
    return {
        "after_s": options.fallback_after_s,
        "channel": FALLBACK_CHANNEL,
        "payload": sms.model_dump(mode="json", exclude_none=True),
    }


_lock = threading.Lock()
_default: Producer | None = None


def default_producer() -> Producer:
    """The process-wide producer, built from the environment on first use: a producer
    process (a web backend) is wired here, the way a worker is wired by its container."""
    global _default
    with _lock:
        if _default is None:
            _default = Producer.from_settings(load_settings())
        return _default


def send_whatsapp(destination: str, message: str, **kwargs: Any) -> str:
    """Accept a WhatsApp text message; see :meth:`Producer.send_whatsapp`."""
    return default_producer().send_whatsapp(destination, message, **kwargs)


def send_whatsapp_media(destination: str, **kwargs: Any) -> str:
    """Accept a WhatsApp media message; see :meth:`Producer.send_whatsapp_media`."""
    return default_producer().send_whatsapp_media(destination, **kwargs)


def send_sms(destination: str, text: str, **kwargs: Any) -> str:
    """Accept an SMS; see :meth:`Producer.send_sms`."""
    return default_producer().send_sms(destination, text, **kwargs)


def send_sms_group(group: str, text: str, **kwargs: Any) -> str:
    """Accept a group SMS; see :meth:`Producer.send_sms_group`."""
    return default_producer().send_sms_group(group, text, **kwargs)


def submit(channel: str, /, **kwargs: Any) -> str:
    """Accept a message of any channel; see :meth:`Producer.submit`."""
    return default_producer().submit(channel, **kwargs)


def send_wa_official_broadcast(*args: Any, **kwargs: Any) -> str:
    """Accept a WhatsApp Official broadcast; see :meth:`Producer.send_wa_official_broadcast`."""
    return default_producer().send_wa_official_broadcast(*args, **kwargs)


def send_wa_official_reply(room_id: str, **kwargs: Any) -> str:
    """Accept a WhatsApp Official reply; see :meth:`Producer.send_wa_official_reply`."""
    return default_producer().send_wa_official_reply(room_id, **kwargs)


def check_whatsapp_numbers(numbers: Iterable[str]) -> str:
    """Ask for a coalesced phone check; see :meth:`Producer.check_whatsapp_numbers`."""
    return default_producer().check_whatsapp_numbers(numbers)


def phone_check_results(check_id: str) -> Answers:
    """The answers of a check id; see :meth:`Producer.phone_check_results`."""
    return default_producer().phone_check_results(check_id)


def get_message(message_id: str) -> MessageRecord:
    """The ledger record of ``message_id``."""
    return default_producer().get_message(message_id)


def is_suppressed(destination: str) -> bool:
    """Whether ``destination`` is on the suppression list; see :meth:`Producer.is_suppressed`."""
    return default_producer().is_suppressed(destination)


def suppress(destination: str, *, note: str = "") -> bool:
    """Put ``destination`` on the suppression list; see :meth:`Producer.suppress`."""
    return default_producer().suppress(destination, note=note)


def unsuppress(destination: str, *, note: str = "") -> bool:
    """Take ``destination`` off the suppression list; see :meth:`Producer.unsuppress`."""
    return default_producer().unsuppress(destination, note=note)
