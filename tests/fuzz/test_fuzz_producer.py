"""Every producer function under bad input: a documented error or a valid ledger record.

Each example calls one function of the producer API with drawn arguments. A refusal must be one
of the documented errors and leave nothing behind: no ledger record created, no task handed to
the broker, no hit on the sandbox (the producer is configured for it; the only ways to a
provider are a task or a record, and neither exists). An accepted call must leave a record in
``accepted`` whose payload the channel's request model takes again (what a worker will send),
with its phone number in the provider's form. ``test_fuzz_fleet.py`` runs a sample through real
workers to the sandbox.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from nusaworker.channels import CHANNELS, UnknownChannel
from nusaworker.ledger import MessageState, RecordNotFound
from nusaworker.phonecheck import InvalidCheckNumber, UnknownCheck
from nusaworker.phones import InvalidPhoneNumber
from nusaworker.producer import FallbackError, Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.suppression import InvalidNumber
from nusaworker.testing.fuzzing import anything, numbers, texts, uuids, weighted, wrong_types

pytestmark = pytest.mark.integration

# What the producer documents it raises for bad input (README, nusaworker/producer.py).
REFUSALS = (
    ValidationError,
    InvalidPhoneNumber,
    FallbackError,
    UnknownChannel,
    InvalidCheckNumber,
)


class Spy:
    """Counts the producer's effects: records created, tasks handed to the broker."""

    def __init__(self, producer: Producer) -> None:
        self.records = 0
        self.tasks = 0
        create, send_task = producer.ledger.create, producer.app.send_task

        def counting_create(*args: Any, **kwargs: Any) -> Any:
            self.records += 1
            return create(*args, **kwargs)

        def counting_send_task(*args: Any, **kwargs: Any) -> Any:
            self.tasks += 1
            return send_task(*args, **kwargs)

        producer.ledger.create = counting_create  # type: ignore[method-assign]
        producer.app.send_task = counting_send_task  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def producer(redis_url: str, fuzz_prefix: str, fuzz_box: Sandbox) -> Iterator[Producer]:
    made = Producer.from_settings(
        Settings(redis_url=redis_url, key_prefix=fuzz_prefix, nusasms_base_url=fuzz_box.url)
    )
    yield made
    made.ledger.redis.close()


@pytest.fixture(scope="module")
def spy(producer: Producer) -> Spy:
    return Spy(producer)


def _hits(box: Sandbox) -> int:
    return len(box.hits())


def _run(
    surface: str,
    call: Callable[[], Any],
    producer: Producer,
    spy: Spy,
    box: Sandbox,
    tally: Any,
    *,
    channel: str | None = None,
) -> None:
    records, tasks, hits = spy.records, spy.tasks, _hits(box)
    started = time.perf_counter()
    try:
        message_id = call()
    except REFUSALS as exc:
        tally(surface, "seconds", time.perf_counter() - started)
        tally(surface, "refused")
        assert "\n" not in str(exc) or isinstance(exc, ValidationError)
        assert (spy.records, spy.tasks) == (records, tasks), "a refused input left a record"
        refused_hits = _hits(box) - hits
        tally(surface, "refused_hits", refused_hits)
        assert refused_hits == 0
        return
    tally(surface, "seconds", time.perf_counter() - started)
    tally(surface, "accepted")
    if channel is None:  # a phone check: an id for its answers
        assert str(message_id).startswith("pc-")
        return
    record = producer.get_message(message_id)
    assert record.state is MessageState.ACCEPTED
    row = CHANNELS[record.channel]
    model = row.validate(record.payload)  # what a worker will send, the table's bounds
    assert row.destination(model) == record.destination
    for name in row.phones(record.payload):
        value = record.payload[name]
        for number in value if isinstance(value, list) else [value]:
            assert number.isdigit() and 8 <= len(number) <= 15, number


def _extra() -> st.SearchStrategy[dict[str, Any]]:
    names = st.sampled_from(
        ["sender", "queue", "channel", "timeout", "is_group", "include_unsubscribe", "bogus"]
    )
    return weighted(70, st.just({}), st.dictionaries(names, anything(), max_size=2))


@given(destination=numbers(), message=texts(), extra=_extra())
def test_fuzz_producer_send_whatsapp(
    producer: Producer,
    spy: Spy,
    fuzz_box: Sandbox,
    tally: Any,
    destination: Any,
    message: Any,
    extra: dict[str, Any],
) -> None:
    _run(
        "producer.send_whatsapp",
        lambda: producer.send_whatsapp(destination, message, **extra),
        producer,
        spy,
        fuzz_box,
        tally,
        channel="wa",
    )


@given(
    destination=numbers(),
    media=st.fixed_dictionaries(
        {},
        optional={
            "media_url": st.one_of(
                st.just("https://cdn.example/a.png"), st.text(max_size=50), texts()
            ),
            "media_base64": st.one_of(st.just("iVBORw0KGgo="), texts()),
            "file_name": st.one_of(st.just("a.png"), texts()),
            "caption": texts(),
        },
    ),
)
def test_fuzz_producer_send_whatsapp_media(
    producer: Producer,
    spy: Spy,
    fuzz_box: Sandbox,
    tally: Any,
    destination: Any,
    media: dict[str, Any],
) -> None:
    _run(
        "producer.send_whatsapp_media",
        lambda: producer.send_whatsapp_media(destination, **media),
        producer,
        spy,
        fuzz_box,
        tally,
        channel="wa_media",
    )


@given(
    destination=numbers(),
    text=texts(),
    otp=weighted(80, st.booleans(), wrong_types()),
)
def test_fuzz_producer_send_sms(
    producer: Producer,
    spy: Spy,
    fuzz_box: Sandbox,
    tally: Any,
    destination: Any,
    text: Any,
    otp: Any,
) -> None:
    _run(
        "producer.send_sms",
        lambda: producer.send_sms(destination, text, otp=otp),
        producer,
        spy,
        fuzz_box,
        tally,
        channel="sms",
    )


@given(group=st.one_of(st.just("Example"), texts()), text=texts())
def test_fuzz_producer_send_sms_group(
    producer: Producer, spy: Spy, fuzz_box: Sandbox, tally: Any, group: Any, text: Any
) -> None:
    _run(
        "producer.send_sms_group",
        lambda: producer.send_sms_group(group, text),
        producer,
        spy,
        fuzz_box,
        tally,
        channel="sms_group",
    )


_PARAMETERS = st.one_of(
    st.none(),
    st.just({"body": [{"key": "1", "value": "name", "value_text": "Budi"}]}),
    st.dictionaries(
        st.text(max_size=20),
        st.one_of(st.lists(texts(), max_size=3), st.dictionaries(st.text(max_size=5), texts())),
        max_size=3,
    ),
    wrong_types(),
)


@given(
    destination=numbers(),
    name=st.one_of(st.just("Budi"), texts()),
    template_id=uuids(),
    channel_id=uuids(),
    parameters=_PARAMETERS,
)
def test_fuzz_producer_send_wa_official_broadcast(
    producer: Producer,
    spy: Spy,
    fuzz_box: Sandbox,
    tally: Any,
    destination: Any,
    name: Any,
    template_id: Any,
    channel_id: Any,
    parameters: Any,
) -> None:
    _run(
        "producer.send_wa_official_broadcast",
        lambda: producer.send_wa_official_broadcast(
            destination, name, template_id, channel_id, parameters
        ),
        producer,
        spy,
        fuzz_box,
        tally,
        channel="wa_official",
    )


@given(
    room_id=uuids(),
    reply=st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(st.sampled_from(["text", "image", "audio", "bogus"]), anything()),
            "text": texts(),
            "file_url": st.one_of(st.just("https://cdn.example/a.pdf"), texts()),
            "file_base64": st.one_of(st.just("JVBERi0xLjQK"), texts()),
            "file_name": texts(),
        },
    ),
)
def test_fuzz_producer_send_wa_official_reply(
    producer: Producer,
    spy: Spy,
    fuzz_box: Sandbox,
    tally: Any,
    room_id: Any,
    reply: dict[str, Any],
) -> None:
    _run(
        "producer.send_wa_official_reply",
        lambda: producer.send_wa_official_reply(room_id, **reply),
        producer,
        spy,
        fuzz_box,
        tally,
        channel="wa_official_reply",
    )


@given(
    channel=st.one_of(st.sampled_from([*CHANNELS, "email", ""]), st.text(max_size=10)),
    fields=st.dictionaries(
        st.sampled_from(["destination", "message", "text", "group", "room_id", "phone_numbers"]),
        st.one_of(numbers(), texts(), st.lists(numbers(), max_size=120)),
        max_size=3,
    ),
    options=st.fixed_dictionaries(
        {},
        optional={
            "priority": st.one_of(st.sampled_from(["otp", "normal", "bulk", "vip"]), anything()),
            "idempotency_key": st.one_of(st.uuids().map(str), texts()),
            "validity_s": st.one_of(st.floats(), st.integers(), anything()),
            "fallback_after_s": st.one_of(st.floats(), anything()),
            "fallback_text": texts(),
        },
    ),
)
def test_fuzz_producer_submit(
    producer: Producer,
    spy: Spy,
    fuzz_box: Sandbox,
    tally: Any,
    channel: Any,
    fields: dict[str, Any],
    options: dict[str, Any],
) -> None:
    _run(
        "producer.submit",
        lambda: producer.submit(channel, **fields, **options),
        producer,
        spy,
        fuzz_box,
        tally,
        channel=channel,
    )


@given(
    numbers_=st.one_of(
        st.lists(numbers(), max_size=150),
        st.builds(lambda: ["6281234567890"] * 10_001),
        numbers(),
    )
)
def test_fuzz_producer_check_whatsapp_numbers(
    producer: Producer, spy: Spy, fuzz_box: Sandbox, tally: Any, numbers_: Any
) -> None:
    _run(
        "producer.check_whatsapp_numbers",
        lambda: producer.check_whatsapp_numbers(numbers_),
        producer,
        spy,
        fuzz_box,
        tally,
    )


@given(
    which=st.sampled_from(["get_message", "phone_check_results", "is_suppressed"]),
    value=st.one_of(uuids(), numbers(), texts()),
)
def test_fuzz_producer_lookups(
    producer: Producer, fuzz_box: Sandbox, tally: Any, which: str, value: Any
) -> None:
    hits = _hits(fuzz_box)
    started = time.perf_counter()
    try:
        getattr(producer, which)(value)
    except (RecordNotFound, UnknownCheck, InvalidNumber, InvalidCheckNumber, ValidationError):
        tally("producer.lookups", "refused")
    else:
        tally("producer.lookups", "accepted")
    tally("producer.lookups", "seconds", time.perf_counter() - started)
    assert _hits(fuzz_box) == hits
