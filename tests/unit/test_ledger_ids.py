"""Message ids: 26 hex characters, unique, sortable by creation time."""

from __future__ import annotations

import re
import threading

from nusaworker.ledger.ids import ID_LENGTH, MessageIdGenerator, message_id_time, new_message_id
from nusaworker.testing.clock import T0, FakeClock


def test_new_message_id_is_26_lowercase_hex() -> None:
    message_id = new_message_id()
    assert len(message_id) == ID_LENGTH == 26
    assert re.fullmatch(r"[0-9a-f]{26}", message_id)


def test_new_message_id_is_unique_and_sorted_in_creation_order() -> None:
    ids = [new_message_id() for _ in range(5000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)


def test_message_id_generator_same_millisecond_still_increases() -> None:
    make = MessageIdGenerator(clock=lambda: 1_700_000_000.0005, randbits=lambda bits: 12345)
    first, second, third = make(), make(), make()
    assert first < second < third
    assert second[:12] == first[:12]  # same millisecond: only the random part moved


def test_message_id_generator_clock_going_back_still_increases() -> None:
    clock = FakeClock(T0 + 1.0)
    make = MessageIdGenerator(clock=clock)
    first = make()
    clock.now = T0  # the wall clock is set back a second
    second = make()
    assert first < second


def test_message_id_generator_later_time_sorts_after_any_randomness() -> None:
    early = MessageIdGenerator(clock=lambda: 1_700_000_000.000, randbits=lambda b: (1 << b) - 1)
    late = MessageIdGenerator(clock=lambda: 1_700_000_000.001, randbits=lambda b: 0)
    assert early() < late()


def test_message_id_time_reads_back_the_creation_millisecond() -> None:
    make = MessageIdGenerator(clock=lambda: 1_700_000_123.456789)
    assert message_id_time(make()) == 1_700_000_123.456


def test_message_id_generator_is_unique_across_threads() -> None:
    make = MessageIdGenerator()
    made: list[list[str]] = [[] for _ in range(8)]
    barrier = threading.Barrier(len(made))

    def work(out: list[str]) -> None:
        barrier.wait()
        out.extend(make() for _ in range(500))

    threads = [threading.Thread(target=work, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for out in made for i in out]
    assert len(set(everything)) == len(everything) == 4000
    for out in made:
        assert out == sorted(out)
