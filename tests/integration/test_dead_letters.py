"""Dead letters: written by the ledger's moves (real Redis), read by ``nusaworker dead-letters``
as a user runs it (a real process), and sent again with ``--requeue`` when that is safe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.ledger.dead import DeadLetters
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

NUMBER = "6281234567890"


def cli(redis_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUSAWORKER_REDIS_URL": redis_url, "NUSAWORKER_KEY_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", "dead-letters", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


def accept(ledger: Ledger, text: str = "hi", **fields: Any) -> str:
    payload = {"destination": NUMBER, "message": text}
    record = MessageRecord(channel="wa", destination=NUMBER, payload=payload, **fields)
    return ledger.create(record)[0]


def ended(ledger: Ledger) -> dict[str, str]:
    """One message per way of ending, and one that was sent (no dead letter), oldest first."""
    ids = {}
    ids["rejected"] = accept(ledger, "refused")
    ledger.mark_rejected(ids["rejected"], "PermanentError: HTTP 422 destination")
    ids["failed"] = accept(ledger, "out of retries")
    token = ledger.claim(ids["failed"]).token
    assert token is not None
    ledger.mark_failed(ids["failed"], "TransientError: HTTP 503 (budget spent)", token=token)
    ids["unknown"] = accept(ledger, "in doubt")
    token = ledger.claim(ids["unknown"]).token
    assert token is not None and ledger.begin_hit(ids["unknown"], token)
    ledger.mark_unknown(ids["unknown"], "AmbiguousOutcome: read timeout", token=token)
    ids["sent"] = accept(ledger, "fine")
    token = ledger.claim(ids["sent"]).token
    assert token is not None
    ledger.mark_sent(ids["sent"], token, "REF-1", next_poll_at=0)
    return ids


def test_dead_letters_are_written_by_the_move_itself_and_only_for_the_unsent(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ids = ended(ledger)
    letters = DeadLetters(redis_client, keys=ledger.keys)
    found = letters.newest()
    assert [x.message_id for x in found] == [ids["unknown"], ids["failed"], ids["rejected"]]
    assert [(x.state, x.previous) for x in found] == [
        ("unknown", "sending"), ("failed", "sending"), ("rejected", "accepted")
    ]  # fmt: skip
    assert found[2].error == "PermanentError: HTTP 422 destination"
    assert found[2].destination == NUMBER and found[2].channel == "wa"
    # A later status of the sent one (failed after it was sent) is a delivery, not a letter.
    ledger.update_status(ids["sent"], "failed", error="UNDELIV")
    assert letters.count() == 3


def test_dead_letters_a_late_answer_that_resolves_a_message_takes_it_off_the_list(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ids = ended(ledger)
    ledger.update_status(ids["unknown"], "sent")  # the answer came after all
    letters = DeadLetters(redis_client, keys=ledger.keys)
    assert ids["unknown"] not in [x.message_id for x in letters.newest()]
    assert ids["unknown"] in [x.message_id for x in letters.newest(resolved=True)]


def test_dead_letters_stream_is_capped_by_length_and_by_the_retention(
    redis_client: redis.Redis, key_prefix: str
) -> None:
    keys = Keys(prefix=key_prefix)
    capped = Ledger(redis_client, keys=keys, dead_letters_maxlen=100)
    for i in range(450):
        capped.mark_rejected(accept(capped, f"m{i}"), "refused")
    # Trimmed approximately (whole stream nodes of 100 entries): never far above the cap.
    assert 100 <= redis_client.xlen(keys.dead_letters) <= 200

    short = Ledger(redis_client, keys=keys, retention_s=1)
    short.mark_rejected(accept(short, "old"), "refused")
    [(old, _)] = redis_client.xrevrange(keys.dead_letters, count=1)

    def trimmed() -> bool:  # each append trims what is older than the retention
        short.mark_rejected(accept(short, "new"), "refused")
        return not redis_client.xrange(keys.dead_letters, "-", old)

    assert wait_for(trimmed, 5, interval=0.3)


def test_cli_dead_letters_newest_first_masked_limited_and_since(
    redis_url: str, key_prefix: str, ledger: Ledger
) -> None:
    ids = ended(ledger)
    done = cli(redis_url, key_prefix)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "3 dead letter(s) shown, newest first (3 kept)"
    assert [line.split()[2] for line in lines[2:]] == [
        ids["unknown"],
        ids["failed"],
        ids["rejected"],
    ]
    assert "628*******890" in done.stdout and NUMBER not in done.stdout
    assert "PermanentError: HTTP 422 destination" in lines[-1]

    limited = json.loads(cli(redis_url, key_prefix, "--json", "--limit", "2").stdout)
    assert [row["id"] for row in limited] == [ids["unknown"], ids["failed"]]
    assert limited[0]["state"] == "unknown" and limited[0]["destination"] == "628*******890"
    recent = json.loads(cli(redis_url, key_prefix, "--json", "--since", "1h").stdout)
    assert len(recent) == 3
    future = json.loads(cli(redis_url, key_prefix, "--json", "--since", "2999-01-01").stdout)
    assert future == []


def test_cli_dead_letters_refuses_bad_options_before_reading_anything(
    redis_url: str, key_prefix: str
) -> None:
    since = cli(redis_url, key_prefix, "--since", "yesterday")
    limit = cli(redis_url, key_prefix, "--limit", "0")
    assert (since.returncode, limit.returncode) == (2, 2)
    assert "an age" in since.stderr and "--limit" in limit.stderr


def test_cli_dead_letters_requeue_sends_a_rejected_one_again_once(
    redis_url: str, key_prefix: str, ledger: Ledger, redis_client: redis.Redis
) -> None:
    ids = ended(ledger)
    done = cli(redis_url, key_prefix, "--requeue", ids["rejected"])
    assert done.returncode == 0, done.stderr
    new_id = done.stdout.strip()
    fresh = ledger.get(new_id)
    old = ledger.get(ids["rejected"])
    assert (fresh.state, fresh.channel, fresh.destination) == ("accepted", "wa", NUMBER)
    assert fresh.payload["message"] == old.payload["message"] == "refused"
    assert fresh.idempotency_key == f"requeue:{ids['rejected']}"
    assert old.state == "rejected" and old.requeued_as == new_id  # the old one stays as it ended
    queued = [
        k
        for k in redis_client.scan_iter(match=key_prefix + "wa*")
        if redis_client.type(k) == "list"
    ]
    assert sum(redis_client.llen(k) for k in queued) == 1  # on its queue, once

    again = cli(redis_url, key_prefix, "--requeue", ids["rejected"])
    assert again.returncode == 1 and f"requeued already, as {new_id}" in again.stderr
    listed = json.loads(cli(redis_url, key_prefix, "--json").stdout)
    assert {row["id"]: row["requeued_as"] for row in listed}[ids["rejected"]] == new_id


def test_cli_dead_letters_requeue_of_a_failed_one_before_any_hit(
    redis_url: str, key_prefix: str, ledger: Ledger
) -> None:
    ids = ended(ledger)
    done = cli(redis_url, key_prefix, "--requeue", ids["failed"])
    assert done.returncode == 0, done.stderr
    assert ledger.get(done.stdout.strip()).payload["message"] == "out of retries"


@pytest.mark.parametrize("which", ["unknown", "sent", "pinned", "nonexistent"])
def test_cli_dead_letters_requeue_never_what_may_have_been_sent(
    redis_url: str, key_prefix: str, ledger: Ledger, redis_client: redis.Redis, which: str
) -> None:
    ids = ended(ledger)
    if which == "pinned":  # an OTP taken over in doubt, then refused: its first hit may have gone
        ids["pinned"] = ids["failed"]
        redis_client.hset(ledger.keys.message(ids["failed"]), "account_pinned", "1")
    target = ids.get(which, "no-such-id")
    done = cli(redis_url, key_prefix, "--requeue", target)
    assert done.returncode == 1
    assert "is not sent again" in done.stderr
    expected = {
        "unknown": "its hit may have reached the provider",
        "sent": "no dead letter for it",
        "pinned": "an earlier hit of it may have reached the provider",
        "nonexistent": "no dead letter for it",
    }[which]
    assert expected in done.stderr
    assert redis_client.get(ledger.keys.idempotency(f"requeue:{target}")) is None
