"""Opt-out from inbound messages: the real sandbox pushes to the real callback receiver, and
the producer's view of the list (and of WhatsApp's ``include_unsubscribe``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests

from nusaworker.delivery import deliver
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageState
from nusaworker.producer import Producer
from nusaworker.providers import NusaSMSClient
from nusaworker.settings import Settings
from nusaworker.suppression import SuppressionList
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.events import EventStream
from nusaworker.tracking.inbox import InboxStore
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

TOKEN = "optout-token-0123456789"


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(prefix=key_prefix)


@pytest.fixture
def suppressed(redis_client: redis.Redis, keys: Keys) -> SuppressionList:
    return SuppressionList(redis_client, keys=keys)


@pytest.fixture
def base(redis_url: str, key_prefix: str) -> Iterator[str]:
    """The callback receiver as ``nusaworker callbacks`` builds it, on a free port."""
    settings = Settings(redis_url=redis_url, key_prefix=key_prefix, callback_token=TOKEN)
    with CallbackServer(create_app(settings)) as server:
        yield f"{server.url}/{TOKEN}"


@pytest.fixture
def box(make_sandbox: Callable[..., Any], base: str) -> Any:
    return make_sandbox(min_interval_ms=0, callback_url=base, fail_rate=0.0)


def _events(redis_client: redis.Redis, keys: Keys, kind: str) -> list[dict[str, Any]]:
    return [e for e in EventStream(redis_client, keys=keys).entries() if e["type"] == kind]


def test_suppression_inbound_stop_from_the_sandbox_suppresses_the_sender(
    box: Any, suppressed: SuppressionList, redis_client: redis.Redis, keys: Keys
) -> None:
    box.push_inbox("wa", "6281234567890", " Stop. ")
    assert box.wait_callbacks() and box.stats()["callbacks_failed"] == 0

    assert wait_for(lambda: suppressed.contains("6281234567890"), 5)
    entry = suppressed.get("6281234567890")
    assert entry is not None
    assert (entry.source, entry.note, entry.channel) == ("inbound", "STOP", "wa")
    [event] = _events(redis_client, keys, "suppression")
    assert (event["action"], event["destination"], event["note"]) == (
        "add",
        "6281234567890",
        "STOP",
    )
    # The message itself is still stored and announced like any inbound message.
    assert [m["text"] for m in InboxStore(redis_client, keys=keys).recent()] == [" Stop. "]
    assert len(_events(redis_client, keys, "inbound")) == 1


def test_suppression_inbound_on_every_channel_and_only_whole_keywords(
    box: Any, suppressed: SuppressionList
) -> None:
    box.push_inbox("sms", "6281200000001", "UNSUBSCRIBE")
    box.push_inbox("wa_official", "6281200000002", "berhenti")
    box.push_inbox("wa", "6281200000003", "don't stop me now")
    box.push_inbox("sms", "6281200000004", "please stop sending")
    box.wachat.add_account("wachat", api_key="inbox-key")
    box.wachat.push_inbox("6281200000005", "STOP SMS", account="wachat")
    assert box.wait_callbacks() and box.stats()["callbacks_failed"] == 0

    numbers = [f"628120000000{i}" for i in range(1, 6)]
    assert wait_for(lambda: suppressed.count() == 3, 5)
    assert suppressed.contains_many(numbers) == [True, True, False, False, True]
    channels = {e.destination: e.channel for e in suppressed.page()}
    assert channels == {
        "6281200000001": "sms",
        "6281200000002": "wa_official",
        "6281200000005": "wachat",
    }


def test_suppression_inbound_duplicate_push_applies_once_and_start_removes(
    box: Any,
    base: str,
    suppressed: SuppressionList,
    redis_client: redis.Redis,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="nusaworker.tracking.inbox")
    stop = box.push_inbox("wa", "6281234567890", "STOP")
    assert box.wait_callbacks()
    assert wait_for(lambda: suppressed.contains("6281234567890"), 5)
    first = suppressed.get("6281234567890")

    again = requests.post(f"{base}/wa/inbox", data=stop["payload"], timeout=5)

    assert again.json()["result"] == "duplicate"
    assert suppressed.get("6281234567890") == first  # not added twice
    assert len(_events(redis_client, keys, "suppression")) == 1
    logged = [r.getMessage() for r in caplog.records if "by inbound" in r.getMessage()]
    assert logged == ["suppressed 628******7890 by inbound STOP on wa"]  # logged once, masked

    box.push_inbox("wa", "6281234567890", "start")
    assert box.wait_callbacks()
    assert wait_for(lambda: not suppressed.contains("6281234567890"), 5)

    # The STOP pushed again after START is still a duplicate: it does not suppress again.
    late = requests.post(f"{base}/wa/inbox", data=stop["payload"], timeout=5)
    assert late.json()["result"] == "duplicate"
    assert not suppressed.contains("6281234567890")
    actions = [e["action"] for e in _events(redis_client, keys, "suppression")]
    assert actions == ["add", "remove"]


def test_suppression_inbound_keywords_come_from_the_settings(
    redis_url: str, key_prefix: str, make_sandbox: Callable[..., Any], suppressed: SuppressionList
) -> None:
    settings = Settings(
        redis_url=redis_url,
        key_prefix=key_prefix,
        callback_token=TOKEN,
        opt_out_keywords=["KELUAR"],
        opt_in_keywords=["MULAI"],
    )
    with CallbackServer(create_app(settings)) as server:
        box = make_sandbox(min_interval_ms=0, callback_url=f"{server.url}/{TOKEN}")
        box.push_inbox("sms", "6281200000001", "keluar!")
        box.push_inbox("sms", "6281200000002", "STOP")  # not a keyword of these settings
        assert box.wait_callbacks() and box.stats()["callbacks_failed"] == 0

    assert suppressed.contains_many(["6281200000001", "6281200000002"]) == [True, False]


class _Broker:
    """The slice of a Celery app a producer uses, recording what it enqueues."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, **options: Any) -> None:
        self.sent.append((name, options))


def test_suppression_producer_refuses_nothing_but_tells(
    redis_client: redis.Redis, keys: Keys
) -> None:
    ledger = Ledger(redis_client, keys=keys)
    producer = Producer(ledger=ledger, app=_Broker())  # type: ignore[arg-type]

    assert producer.suppress("+62 812-3456-7890", note="complaint #12") is True
    assert producer.is_suppressed("6281234567890")
    message_id = producer.send_whatsapp("6281234567890", "your order has shipped")

    assert ledger.get(message_id).state is MessageState.ACCEPTED  # a transactional send goes
    assert producer.unsuppress("6281234567890") is True
    assert not producer.is_suppressed("+6281234567890")
    assert producer.unsuppress("6281234567890") is False


@pytest.mark.parametrize("include_unsubscribe", [True, False])
def test_suppression_producer_passes_include_unsubscribe_to_the_hit(
    redis_client: redis.Redis, keys: Keys, sandbox: Any, include_unsubscribe: bool
) -> None:
    ledger = Ledger(redis_client, keys=keys)
    producer = Producer(ledger=ledger, app=_Broker())  # type: ignore[arg-type]
    message_id = producer.send_whatsapp(
        "6281234567890", "promo", priority="bulk", include_unsubscribe=include_unsubscribe
    )
    client = NusaSMSClient(
        base_url=sandbox.url, api_key="test-key", sms_user="user", sms_password="pass"
    )

    outcome = deliver(message_id, ledger=ledger, client=client)
    client.close()

    assert outcome.state is MessageState.SENT
    [hit] = sandbox.hits(kind="send")
    assert hit["path"] == "/nusasms_api/1.0/whatsapp/message"
    # What the sandbox read from that hit's JSON body (seed 001's field, as sent).
    message = sandbox.message(hit["ref_no"])
    assert message["extra"]["include_unsubscribe"] is include_unsubscribe
    assert ledger.get(message_id).payload["include_unsubscribe"] is include_unsubscribe
