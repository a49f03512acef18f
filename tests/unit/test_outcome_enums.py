"""Outcome enums are StrEnums whose values are the words the code returned before: a task's
JSON result, a log line and a comparison with the plain word are unchanged."""

from __future__ import annotations

import json
from enum import StrEnum

import pytest
from kombu.utils.json import dumps as kombu_dumps

from nusaworker.delivery import Action, Failure
from nusaworker.tracking.poller import PollResult
from nusaworker.tracking.webhook import WebhookResult


@pytest.mark.parametrize(
    ("enum", "words"),
    [
        (PollResult, {"final", "pending", "expired", "failed", "skipped"}),
        (WebhookResult, {"delivered", "refused", "failed", "disabled"}),
    ],
)
def test_outcome_enums_keep_the_returned_words(enum: type[StrEnum], words: set[str]) -> None:
    assert {m.value for m in enum} == words
    for member in enum:
        assert member == member.value
        assert f"{member}" == member.value
        assert json.dumps(member) == json.dumps(member.value)
        assert kombu_dumps({"result": member}) == kombu_dumps({"result": member.value})


@pytest.mark.parametrize("enum", [PollResult, WebhookResult, Action, Failure])
def test_outcome_enums_are_str_enums(enum: type[StrEnum]) -> None:
    assert issubclass(enum, StrEnum)
