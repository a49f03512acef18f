"""The suppression list against a real Redis: writes, batch reads in one round trip, paging,
and the events its changes announce."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.suppression import CHUNK, Entry, InvalidNumber, SuppressionList
from nusaworker.tracking.events import EventStream

pytestmark = pytest.mark.integration


class Clock:
    """Epoch seconds the test moves, so that entries sort by a known time."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(prefix=key_prefix)


@pytest.fixture
def suppressed(redis_client: redis.Redis, keys: Keys) -> SuppressionList:
    return SuppressionList(redis_client, keys=keys, clock=Clock())


def _events(redis_client: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    return [e for e in EventStream(redis_client, keys=keys).entries() if e["type"] == "suppression"]


def test_suppression_add_keeps_who_why_and_when(suppressed: SuppressionList) -> None:
    assert suppressed.add("+62 812-3456-7890", source="cli", note="asked by phone") is True

    assert suppressed.contains("6281234567890")
    assert suppressed.get("6281234567890") == Entry(
        destination="6281234567890", source="cli", note="asked by phone", at=1_700_000_001.0
    )
    assert suppressed.count() == 1


def test_suppression_add_twice_keeps_the_first_entry_and_announces_once(
    suppressed: SuppressionList, redis_client: redis.Redis, keys: Keys
) -> None:
    suppressed.add("6281234567890", source="api", note="first")

    again = suppressed.add("+6281234567890", source="cli", note="second")

    assert again is False
    entry = suppressed.get("6281234567890")
    assert entry is not None and (entry.source, entry.note) == ("api", "first")
    assert suppressed.count() == 1
    [event] = _events(redis_client, keys)
    assert event["action"] == "add"
    assert event["destination"] == "6281234567890"
    assert (event["source"], event["note"]) == ("api", "first")


def test_suppression_remove_takes_it_off_and_says_whether_it_was_on(
    suppressed: SuppressionList, redis_client: redis.Redis, keys: Keys
) -> None:
    suppressed.add_many(["6281200000001", "6281200000002"], source="cli")

    assert suppressed.remove("6281200000001", source="cli", note="consent renewed") is True
    assert suppressed.remove("6281200000001") is False

    assert suppressed.contains_many(["6281200000001", "6281200000002"]) == [False, True]
    assert suppressed.get("6281200000001") is None
    assert suppressed.count() == 1
    assert [e["action"] for e in _events(redis_client, keys)] == ["add", "add", "remove"]
    assert _events(redis_client, keys)[-1]["note"] == "consent renewed"


def test_suppression_add_many_refuses_a_bad_number_before_writing_any(
    suppressed: SuppressionList, redis_client: redis.Redis, keys: Keys
) -> None:
    with pytest.raises(InvalidNumber, match="12ab"):
        suppressed.add_many(["6281200000001", "12ab"])

    assert suppressed.count() == 0
    assert redis_client.exists(keys.suppressed_index, keys.events) == 0


def test_suppression_page_lists_newest_first(suppressed: SuppressionList) -> None:
    numbers = [f"62812000{i:05d}" for i in range(7)]
    for number in numbers:
        suppressed.add(number, source="api")

    first = suppressed.page(0, 3)
    rest = suppressed.page(3, 10)

    assert [e.destination for e in first + rest] == numbers[::-1]
    assert [e.at for e in first] == sorted((e.at for e in first), reverse=True)
    assert suppressed.page(7, 3) == []


class _Sent:
    """What a Redis client wrote to its socket: one list of command names per write."""

    def __init__(self) -> None:
        self.writes: list[list[str]] = []


def _counting_client(redis_url: str, sent: _Sent) -> redis.Redis:
    class CountingConnection(redis.Connection):
        def send_command(self, *args: Any, **kwargs: Any) -> None:
            sent.writes.append([str(args[0]).upper()])
            super().send_command(*args, **kwargs)

        def pack_commands(self, commands: Any) -> Any:
            sent.writes.append([str(c[0]).upper() for c in commands])
            return super().pack_commands(commands)

    pool = redis.ConnectionPool.from_url(redis_url, connection_class=CountingConnection)
    return redis.Redis(connection_pool=pool)


@pytest.fixture
def counted(redis_url: str) -> Iterator[tuple[redis.Redis, _Sent]]:
    sent = _Sent()
    client = _counting_client(redis_url, sent)
    client.ping()  # connects (and selects the test's db) before anything is counted
    sent.writes.clear()
    yield client, sent
    client.close()


def test_suppression_contains_many_checks_ten_thousand_numbers_in_one_round_trip(
    suppressed: SuppressionList, counted: tuple[redis.Redis, _Sent], keys: Keys
) -> None:
    numbers = [f"6281{i:09d}" for i in range(10_000)]
    suppressed.add_many(numbers[::2], source="api", note="every other one")
    client, sent = counted
    reader = SuppressionList(client, keys=keys)
    sent.writes.clear()  # registering the script wrote nothing, but be sure

    found = reader.contains_many(numbers)

    assert found == [i % 2 == 0 for i in range(10_000)]
    assert len(sent.writes) == 1  # one round trip for the whole batch …
    assert sent.writes[0] == ["ZMSCORE"] * (10_000 // CHUNK)  # … of short, chunked commands


def test_suppression_contains_many_of_nothing_asks_nothing(
    counted: tuple[redis.Redis, _Sent], keys: Keys
) -> None:
    client, sent = counted

    assert SuppressionList(client, keys=keys).contains_many([]) == []
    assert sent.writes == []


def test_suppression_add_many_writes_ten_thousand_numbers_in_few_script_calls(
    counted: tuple[redis.Redis, _Sent], keys: Keys
) -> None:
    client, sent = counted
    listed = SuppressionList(client, keys=keys)
    listed.add("6283000000000")  # the first call on a fresh server also loads the script
    sent.writes.clear()

    changed = listed.add_many([f"6282{i:09d}" for i in range(10_000)], source="api")

    assert sum(changed.values()) == 10_000
    assert sent.writes == [["EVALSHA"]] * (10_000 // CHUNK)  # one script call per chunk
    assert listed.count() == 10_001


def test_suppression_lists_of_two_prefixes_stay_apart(
    redis_client: redis.Redis, keys: Keys, key_prefix: str
) -> None:
    other = Keys(prefix=key_prefix + "other:")
    SuppressionList(redis_client, keys=keys).add("6281234567890")

    assert not SuppressionList(redis_client, keys=other).contains("6281234567890")


def test_suppression_from_settings_uses_the_prefix(
    redis_url: str, key_prefix: str, suppressed: SuppressionList
) -> None:
    from nusaworker.settings import Settings

    suppressed.add("6281234567890")
    listed = SuppressionList.from_settings(Settings(redis_url=redis_url, key_prefix=key_prefix))

    assert listed.contains("+62 812 3456 7890")
    assert "6281234567890" not in repr(listed)


def test_suppression_a_national_number_suppresses_what_the_fleet_sends_to(
    suppressed: SuppressionList,
) -> None:
    """Suppressed as a person writes it (0812…), the number is the one messages go to (62812…,
    as the producer reads a destination): asked either way, it is on the list, once."""
    assert suppressed.add("0812 3456 7890", note="said so on the phone") is True
    assert suppressed.contains("6281234567890")
    assert suppressed.contains_many(["+62 812-3456-7890", "081234567890"]) == [True, True]
    assert suppressed.add("6281234567890") is False  # the same entry
    assert suppressed.count() == 1
    assert suppressed.remove("081234567890") is True
    assert not suppressed.contains("6281234567890")
