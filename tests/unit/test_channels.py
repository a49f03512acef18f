"""The channel table: every row is complete and consistent, and every layer reads it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from nusaworker.channels import CHANNELS, NAMES, UnknownChannel, channel, pause_group
from nusaworker.credit.breakers import CHANNELS as BREAKER_CHANNELS
from nusaworker.credit.cost import MIN_COST, Cost, message_cost
from nusaworker.errors import NusaWorkerError
from nusaworker.routing import QUEUES, queue_for
from nusaworker.tracking.statuses import POLLABLE_CHANNELS, family, read_status

ROWS = sorted(CHANNELS)


@pytest.mark.parametrize("name", ROWS)
def test_channel_row_names_fields_of_its_request_model(name: str) -> None:
    row = CHANNELS[name]
    assert row.name == name
    assert row.destination_field in row.request.model_fields
    assert row.text_field is None or row.text_field in row.request.model_fields


@pytest.mark.parametrize("name", ROWS)
def test_channel_row_is_read_by_routing_credit_and_tracking(name: str) -> None:
    row = CHANNELS[name]
    assert queue_for(name, "normal") == row.queue
    assert row.queue in QUEUES
    assert queue_for(name, "otp") == "otp"
    assert name in BREAKER_CHANNELS
    assert MIN_COST[name] == row.min_cost
    assert (name in POLLABLE_CHANNELS) is row.polled
    assert family(name) == row.statuses
    assert name in pause_group(name, "auth") and name in pause_group(name, "credit")


def test_channel_unknown_name_is_a_typed_error() -> None:
    with pytest.raises(UnknownChannel, match="unknown channel 'fax'") as caught:
        channel("fax")
    assert isinstance(caught.value, NusaWorkerError) and isinstance(caught.value, ValueError)
    with pytest.raises(UnknownChannel):
        queue_for("fax", "normal")


def test_group_sms_is_a_row_like_any_other() -> None:
    row = channel("sms_group")
    model = row.validate({"group": "Example", "text": "Hello"})
    assert row.destination(model) == "Example"
    assert row.queue == "sms" and not row.polled
    assert message_cost("sms_group", model.model_dump(mode="json")) == Cost(sms=1)
    assert pause_group("sms_group", "credit") == ("sms", "sms_group")
    assert read_status("sms_group", "DELIVRD").state is not None
    with pytest.raises(ValidationError):
        row.validate({"group": "", "text": "Hello"})


def test_channel_costs_follow_the_documented_pricing() -> None:
    assert message_cost("wa", {"message": "x" * 1501}) == Cost(wa=2)
    assert message_cost("wa_media", {}) == Cost(wa=2)
    assert message_cost("wa_official", {}) == Cost(wa=1)
    assert message_cost("wa_official_reply", {}) == Cost()
    assert message_cost("check", {}) == Cost()
    assert message_cost("sms", {"text": "é" * 71, "unicode": True}) == Cost(sms=2)


def test_channel_names_are_the_table_keys_in_order() -> None:
    assert tuple(CHANNELS) == NAMES
    assert NAMES[:6] == ("wa", "wa_media", "wa_official", "wa_official_reply", "sms", "sms_group")
