"""Phone checks: the pure parts — number normalisation, batching, replies, the dispatch loop
(with a small honest fake of the store; the Redis scripts are tested in integration)."""

from __future__ import annotations

import math

import pytest

from nusaworker.phonecheck import (
    BATCH_SIZE,
    SCHEDULE,
    InvalidCheckNumber,
    UnknownCheck,
    answer_of,
    batches,
    dispatch,
    normalise,
    normalise_all,
)
from nusaworker.routing import route_task


@pytest.mark.parametrize(
    ("raw", "digits"),
    [
        ("+62 812-3456-7890", "6281234567890"),
        ("6281234567890", "6281234567890"),
        ("  62812 3456 789 ", "628123456789"),
        # A national number is read in the default region, as the campaign input reads it.
        ("0812-3456-789", "628123456789"),
        ("62.812.345.678", "62812345678"),  # dots are how some write a number
    ],
)
def test_phonecheck_normalise_keeps_digits_only(raw: str, digits: str) -> None:
    assert normalise(raw) == digits


@pytest.mark.parametrize(
    "raw", ["", "+", "62812x4567890", "1234567", "123456789012345", "++6281234567", "62_812_345"]
)
def test_phonecheck_normalise_refuses_what_is_not_a_number(raw: str) -> None:
    with pytest.raises(InvalidCheckNumber):
        normalise(raw)


def test_phonecheck_normalise_refuses_non_strings() -> None:
    with pytest.raises(InvalidCheckNumber):
        normalise(6281234567890)  # type: ignore[arg-type]


def test_phonecheck_invalid_number_is_a_value_error_not_retryable() -> None:
    assert issubclass(InvalidCheckNumber, ValueError)
    assert InvalidCheckNumber.retryable is False
    assert UnknownCheck.retryable is False


def test_phonecheck_normalise_all_drops_duplicates_in_first_seen_order() -> None:
    got = normalise_all(["+6281100000002", "6281100000001", "62 811-0000-0002"])
    assert got == ["6281100000002", "6281100000001"]


def test_phonecheck_normalise_all_names_the_bad_position() -> None:
    with pytest.raises(InvalidCheckNumber, match=r"numbers\[1\]"):
        normalise_all(["6281100000001", "nope"])


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 280, 1000, 1001])
def test_phonecheck_batches_cut_into_ceil_hits_of_at_most_100(count: int) -> None:
    numbers = [f"62811{i:08d}" for i in range(count)]
    cut = batches(numbers)
    assert len(cut) == math.ceil(count / BATCH_SIZE)
    assert all(1 <= len(b) <= BATCH_SIZE for b in cut)
    assert [n for b in cut for n in b] == numbers


def test_phonecheck_batches_refuse_a_size_below_one() -> None:
    with pytest.raises(ValueError):
        batches(["6281100000001"], 0)


@pytest.mark.parametrize(
    ("reply", "answer"),
    [("1", True), ("0", False), ("", None), (None, None), (b"1", True), (b"0", False)],
)
def test_phonecheck_answer_of_reads_cache_replies(reply: object, answer: bool | None) -> None:
    assert answer_of(reply) is answer


class FakeChecks:
    """The store's dispatcher side: hands out fixed batches, remembers what came back."""

    def __init__(self, due: list[list[str]]) -> None:
        self.due = due
        self.requeued: list[str] = []

    def take(self) -> list[list[str]]:
        due, self.due = self.due, []
        return due

    def requeue(self, numbers: list[str]) -> None:
        self.requeued.extend(numbers)


def test_phonecheck_dispatch_sends_one_message_per_batch() -> None:
    checks = FakeChecks([["a"] * 100, ["b"] * 100, ["c"] * 80])
    sent: list[list[str]] = []

    def submit(batch: list[str]) -> str:
        sent.append(batch)
        return f"m{len(sent)}"

    report = dispatch(checks, submit)  # type: ignore[arg-type]

    assert report.taken == 280
    assert report.messages == ("m1", "m2", "m3")
    assert [len(b) for b in sent] == [100, 100, 80]
    assert checks.requeued == []


def test_phonecheck_dispatch_requeues_the_failed_batch_and_the_rest() -> None:
    checks = FakeChecks([["a1", "a2"], ["b1"], ["c1"]])
    calls = []

    def submit(batch: list[str]) -> str:
        calls.append(batch)
        if batch == ["b1"]:
            raise ConnectionError("broker down")
        return "m"

    with pytest.raises(ConnectionError):
        dispatch(checks, submit)  # type: ignore[arg-type]

    assert calls == [["a1", "a2"], ["b1"]]
    assert checks.requeued == ["b1", "c1"]


def test_phonecheck_dispatch_with_nothing_due_sends_nothing() -> None:
    report = dispatch(FakeChecks([]), lambda batch: "never")  # type: ignore[arg-type]
    assert report.taken == 0
    assert report.messages == ()


def test_phonecheck_schedule_is_in_beat_expires_and_routes_to_housekeeping() -> None:
    from nusaworker.celery import app
    from nusaworker.tasks import phonecheck  # registers the task

    (name,) = SCHEDULE
    entry = SCHEDULE[name]
    assert app.conf.beat_schedule[name] == entry
    assert 0 < entry["options"]["expires"] <= 2 * entry["schedule"]
    assert route_task(entry["task"], [], {}, {}) == {"queue": "housekeeping"}
    assert app.tasks[entry["task"]].name == phonecheck.phone_checks.name == entry["task"]
