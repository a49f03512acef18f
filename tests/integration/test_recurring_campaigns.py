"""Recurring campaigns on a real Redis: the book of definitions, and runs started once per fire
time however many beats race for them."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from nusaworker.campaigns import RecurringBook, RecurringCampaign, RecurringNameTaken, RunStarted
from nusaworker.keys import Keys
from nusaworker.testing.clock import FakeClock

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 1, 12, tzinfo=UTC).timestamp()  # a whole minute


def every_minute(name: str = "ticker", **overrides: Any) -> RecurringCampaign:
    fields: dict[str, Any] = {
        "name": name,
        "cron": "* * * * *",
        "tz": "Asia/Jakarta",
        "recipients": "json:loads",
        "campaign": {"channel": "sms", "template": "Hi {name}"},
        "created_at": T0 - 3600,
    }
    fields.update(overrides)
    return RecurringCampaign(**fields)


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(prefix=key_prefix)


@pytest.fixture
def make_book(redis_url: str, keys: Keys) -> Iterator[Callable[..., RecurringBook]]:
    """Factory: a book with a Redis client of its own (like another beat); closed afterwards."""
    clients: list[redis.Redis] = []

    def factory(clock: Callable[[], float] | None = None) -> RecurringBook:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        clients.append(client)
        return RecurringBook(client, keys=keys, clock=clock or FakeClock(T0))

    yield factory
    for client in clients:
        client.close()


# -- the book ----------------------------------------------------------------------------------


def test_recurring_book_add_get_all_remove(make_book: Callable[..., RecurringBook]) -> None:
    book = make_book()
    first, second = every_minute("b-second"), every_minute("a-first", cron="0 9 * * *")
    book.add(first)
    book.add(second)
    assert book.get("b-second") == first
    assert book.get("nope") is None
    assert [d.name for d in book.all()] == ["a-first", "b-second"]

    with pytest.raises(RecurringNameTaken, match="'b-second' exists"):
        book.add(every_minute("b-second", cron="*/5 * * * *"))
    assert book.get("b-second") == first  # untouched
    book.add(every_minute("b-second", cron="*/5 * * * *"), replace=True)
    assert book.get("b-second").cron == "*/5 * * * *"  # type: ignore[union-attr]

    assert book.remove("b-second") is True
    assert book.remove("b-second") is False
    assert [d.name for d in book.all()] == ["a-first"]


def test_recurring_book_leaves_out_a_definition_that_no_longer_reads(
    make_book: Callable[..., RecurringBook], redis_client: redis.Redis, keys: Keys
) -> None:
    book = make_book()
    book.add(every_minute("good"))
    redis_client.hset(keys.recurring_campaigns, "bad", '{"name": "bad", "cron": "nope"}')
    assert [d.name for d in book.all()] == ["good"]
    assert [d.name for d, _ in book.due(T0)] == ["good"]


def test_recurring_book_due_and_claim(
    make_book: Callable[..., RecurringBook], redis_client: redis.Redis, keys: Keys
) -> None:
    book = make_book()
    book.add(every_minute("on"))
    book.add(every_minute("off", enabled=False))
    book.add(every_minute("new", created_at=T0 + 1))
    assert book.due(T0 + 30) == [(every_minute("on"), T0)]

    ttl = every_minute().claim_ttl_s(T0)
    assert book.claim_run("on", T0, ttl_s=ttl) is True
    assert book.claim_run("on", T0, ttl_s=ttl) is False
    assert book.claim_run("on", T0 + 60, ttl_s=ttl) is True
    assert 0 < redis_client.ttl(keys.recurring_run("on", T0)) <= ttl == 180


# -- runs --------------------------------------------------------------------------------------


def test_recurring_two_beats_racing_start_each_fire_time_once(
    make_book: Callable[..., RecurringBook],
) -> None:
    periods, ticks = 6, 4  # ticks per period and beat, like a 5 s beat over a minute cron
    beats = [make_book(), make_book()]
    beats[0].add(every_minute("ticker"))
    beats[0].add(every_minute("other", tz="Europe/Berlin"))
    calls: list[tuple[str, float]] = []
    lock = threading.Lock()

    def start(defn: RecurringCampaign, fire_at: float) -> str:
        with lock:
            calls.append((defn.name, fire_at))
        return f"c-{defn.name}-{int(fire_at)}"

    barrier = threading.Barrier(len(beats))
    started: list[list[RunStarted]] = [[] for _ in beats]
    errors: list[BaseException] = []

    def beat(index: int) -> None:
        try:
            for period in range(periods):
                for tick in range(ticks):
                    barrier.wait(timeout=10)  # both beats tick at once
                    now = T0 + 60 * period + 5 * tick + 0.25 * index
                    started[index].extend(beats[index].run_due(start, now=now))
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=beat, args=(i,)) for i in range(len(beats))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors

    expected = [(name, T0 + 60 * p) for p in range(periods) for name in ("other", "ticker")]
    assert sorted(calls, key=lambda c: (c[1], c[0])) == expected  # once per period, fleet-wide
    assert Counter(calls).most_common(1)[0][1] == 1
    assert sorted((r.name, r.fire_at) for runs in started for r in runs) == sorted(calls)
    last = beats[1].last_runs()
    assert last["ticker"].fire_at == T0 + 60 * (periods - 1)
    assert last["ticker"].outcome == "started"
    assert last["ticker"].campaign_id == f"c-ticker-{int(T0 + 60 * (periods - 1))}"


def test_recurring_failed_start_is_recorded_and_not_retried_in_its_period(
    make_book: Callable[..., RecurringBook],
) -> None:
    clock = FakeClock(T0 + 1)
    beats = [make_book(clock), make_book(clock)]
    beats[0].add(every_minute("flaky"))
    calls: list[float] = []

    def start(defn: RecurringCampaign, fire_at: float) -> str:
        calls.append(fire_at)
        if len(calls) == 1:
            raise ConnectionError("the backend's recipients endpoint is down")
        return "c-2"

    (failed,) = beats[0].run_due(start)
    assert failed.outcome == "failed" and failed.campaign_id is None
    assert failed.error == "ConnectionError: the backend's recipients endpoint is down"
    assert beats[0].last_runs()["flaky"] == failed

    for _ in range(11):  # the rest of the period, from both beats
        clock.advance(5)
        assert beats[0].run_due(start) == [] and beats[1].run_due(start) == []
    assert calls == [T0]
    assert beats[1].last_runs()["flaky"].outcome == "failed"

    clock.now = T0 + 60.5  # the next fire time is a new run
    (run,) = beats[1].run_due(start)
    assert (run.fire_at, run.outcome, run.campaign_id) == (T0 + 60, "started", "c-2")
    assert calls == [T0, T0 + 60]
    assert beats[0].last_runs()["flaky"] == run


def test_recurring_last_run_is_the_latest_fire_time_whatever_order_runs_end(
    make_book: Callable[..., RecurringBook],
) -> None:
    slow_beat, fast_beat = make_book(), make_book()
    slow_beat.add(every_minute("slow"))
    in_start, release = threading.Event(), threading.Event()

    def slow_start(defn: RecurringCampaign, fire_at: float) -> str:
        in_start.set()
        assert release.wait(timeout=10)
        return "c-old"

    slow = threading.Thread(target=slow_beat.run_due, args=(slow_start, T0 + 1))
    slow.start()
    assert in_start.wait(timeout=10)
    assert slow_beat.last_runs()["slow"].outcome == "starting"  # visible while it starts

    fast_beat.run_due(lambda defn, fire_at: "c-new", T0 + 61)  # the next period, done first
    release.set()
    slow.join(timeout=10)
    last = fast_beat.last_runs()["slow"]
    assert (last.fire_at, last.campaign_id) == (T0 + 60, "c-new")


def test_recurring_remove_drops_the_last_run_and_a_late_record(
    make_book: Callable[..., RecurringBook],
) -> None:
    book = make_book()
    book.add(every_minute("gone"))
    book.add(every_minute("kept"))
    removed_during_start: list[bool] = []

    def start(defn: RecurringCampaign, fire_at: float) -> str:
        if defn.name == "gone":
            removed_during_start.append(book.remove("gone"))
        return f"c-{defn.name}"

    book.run_due(start, now=T0 + 1)
    assert removed_during_start == [True]
    assert set(book.last_runs()) == {"kept"}  # no entry back for a removed definition
    assert book.remove("kept") is True
    assert book.last_runs() == {}
