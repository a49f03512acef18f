"""Fuzzed messages through a real worker to the sandbox: hits for accepted input only.

The producer surfaces (``test_fuzz_producer.py``) show that a refused call leaves no record and
no task, the only ways to a provider. Here a sample of drawn WhatsApp and SMS sends goes all the
way: a real ``celery worker`` sends what was accepted to the sandbox over HTTP, and once every
accepted message is final, every message the sandbox took is one of them (by ``ref_no`` and
destination) and there are as many as were sent — none came from a refused input.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from nusaworker.phones import InvalidPhoneNumber
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import Fleet, fleet_env
from nusaworker.testing.fuzzing import numbers, texts
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

# Each accepted send is a real hit, paced 50 ms apart: the sample stays small.
EXAMPLES = 60


@pytest.fixture(scope="module")
def fleet_producer(
    redis_url: str, fuzz_prefix: str, fuzz_box: Sandbox
) -> Iterator[tuple[Producer, Fleet]]:
    env = fleet_env(redis_url=redis_url, key_prefix=fuzz_prefix, base_url=fuzz_box.url)
    with Fleet(env) as fleet:
        fleet.start("fuzz", "otp,wa,sms", concurrency=2)
        yield (
            Producer.from_settings(
                Settings(redis_url=redis_url, key_prefix=fuzz_prefix, nusasms_base_url=fuzz_box.url)
            ),
            fleet,
        )


def test_fuzz_fleet_hits_the_sandbox_for_accepted_input_only(
    fleet_producer: tuple[Producer, Fleet], fuzz_box: Sandbox, tally: Any
) -> None:
    producer, _ = fleet_producer
    accepted: list[str] = []

    @settings(max_examples=EXAMPLES)
    @given(kind=st.sampled_from(["wa", "sms"]), destination=numbers(), text=texts())
    def send(kind: str, destination: Any, text: Any) -> None:
        try:
            if kind == "wa":
                accepted.append(producer.send_whatsapp(destination, text))
            else:
                accepted.append(producer.send_sms(destination, text))
        except (ValidationError, InvalidPhoneNumber):
            tally("fleet.send", "refused")
        else:
            tally("fleet.send", "accepted")

    send()
    assert accepted, "the sample accepted nothing: the strategies draw too few good inputs"

    def final() -> bool:
        return all(
            r.state.value not in ("accepted", "sending") for r in producer.ledger.get_many(accepted)
        )

    assert wait_for(final, 120)
    records = {r.ref_no: r for r in producer.ledger.get_many(accepted) if r.ref_no}
    taken = fuzz_box.messages()
    tally("fleet.send", "refused_hits", len(taken) - len(records))
    assert len(taken) == len(records)
    for message in taken:
        record = records[message["ref_no"]]
        assert message["destination"] == record.destination
