"""Balance watch, probe and metrics against the sandbox over real HTTP, with a real Redis.

The provider client takes its slots from the real Redis pacing gate, as in a worker.
"""

from __future__ import annotations

import datetime as dt
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from nusaworker.credit.alerts import Alert, Alerter, AlertKind
from nusaworker.credit.breakers import BreakerBoard
from nusaworker.credit.circuit import Circuit
from nusaworker.credit.metrics import AccountCredit, CreditCollector, registry_for
from nusaworker.credit.probe import run_probe
from nusaworker.credit.watch import BalanceWatch
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.metrics.exposition import render, serve
from nusaworker.pacing import RedisGate
from nusaworker.providers import NusaSMSClient
from nusaworker.providers.errors import AuthError, InsufficientCredit
from nusaworker.testing.redis_server import free_port

pytestmark = pytest.mark.integration

THRESHOLDS = {"wa": 100.0, "sms_credits": 50.0}


class Sink:
    name = "recording"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def kinds(self) -> list[str]:
        return [str(a.kind) for a in self.alerts]


@pytest.fixture
def box(make_sandbox: Any) -> Any:
    return make_sandbox(wa_balance=500.0, sms_balance=500.0)


@pytest.fixture
def client(box: Any, redis_url: str, key_prefix: str) -> Iterator[NusaSMSClient]:
    gate = RedisGate(redis_url, keys=Keys(prefix=key_prefix))
    with NusaSMSClient(
        base_url=box.url, api_key="test-key", sms_user="user", sms_password="pass", gate=gate
    ) as made:
        yield made
    gate.close()


@pytest.fixture
def sink() -> Sink:
    return Sink()


@pytest.fixture
def ledger(redis_client: redis.Redis, key_prefix: str) -> Ledger:
    return Ledger(redis_client, keys=Keys(prefix=key_prefix))


@pytest.fixture
def circuit(
    redis_client: redis.Redis, key_prefix: str, client: NusaSMSClient, ledger: Ledger, sink: Sink
) -> Circuit:
    board = BreakerBoard(redis_client, account=client.account, keys=Keys(prefix=key_prefix))
    return Circuit(board, ledger, alerter=Alerter([sink]), enqueue=lambda r: None)


@pytest.fixture
def watch(
    redis_client: redis.Redis, key_prefix: str, client: NusaSMSClient, sink: Sink
) -> BalanceWatch:
    return BalanceWatch(
        redis_client,
        account=client.account,
        keys=Keys(prefix=key_prefix),
        alerter=Alerter([sink]),
        thresholds=THRESHOLDS,
        expiry_days=7,
    )


def rounds(watch: BalanceWatch, client: NusaSMSClient, n: int, **kw: Any) -> None:
    for _ in range(n):
        watch.run(client, force=True, **kw)


def test_watch_reads_balances_and_credits_through_the_gate(
    watch: BalanceWatch, client: NusaSMSClient, box: Any, sink: Sink
) -> None:
    report = watch.run(client, force=True)
    assert report.snapshot is not None
    assert report.snapshot.balances["wa"] == 500.0
    assert report.snapshot.balances["sms_credits"] == 500.0
    assert report.snapshot.expiry["wa"] == dt.date(2027, 12, 31)
    assert report.levels == {
        "low:wa": "ok",
        "expiry:wa": "ok",
        "low:sms_credits": "ok",
        "expiry:sms_credits": "ok",
    }
    assert sink.alerts == [] and report.errors == {}
    assert watch.last_snapshot() == report.snapshot
    stats = box.stats()
    assert stats["hits"] == 2 and stats["violations"] == 0


def test_watch_thresholds_crossed_and_recovered_alert_exactly_once_each(
    watch: BalanceWatch, client: NusaSMSClient, box: Any, sink: Sink
) -> None:
    rounds(watch, client, 2)
    box.set_balance(wa=40.0)
    rounds(watch, client, 3)
    assert sink.kinds() == ["balance_low"]
    assert sink.alerts[0].details == {"balance_type": "wa", "balance": 40.0, "threshold": 100.0}
    box.set_balance(wa=250.0)
    rounds(watch, client, 3)
    assert sink.kinds() == ["balance_low", "balance_recovered"]
    box.set_balance(sms=10.0)
    rounds(watch, client, 2)
    assert sink.kinds()[2:] == ["balance_low"]
    assert sink.alerts[2].details["balance_type"] == "sms_credits"


def test_watch_two_watchers_racing_still_alert_once(
    watch: BalanceWatch, client: NusaSMSClient, box: Any, sink: Sink, redis_client: redis.Redis
) -> None:
    other = BalanceWatch(
        redis_client,
        account=watch.account,
        keys=watch.keys,
        alerter=watch.alerter,
        thresholds=THRESHOLDS,
        expiry_days=7,
    )
    box.set_balance(wa=1.0)
    for _ in range(3):
        watch.run(client, force=True)
        other.run(client, force=True)
    assert sink.kinds() == ["balance_low"]


def test_watch_expired_balance_alerts_once(
    watch: BalanceWatch, client: NusaSMSClient, box: Any, sink: Sink
) -> None:
    box.set_account(expired=True)
    rounds(watch, client, 3)
    assert sorted(sink.kinds()) == ["expired", "expired"]  # wa and sms_credits, once each
    box.set_account(expired=False)
    rounds(watch, client, 2)
    assert sink.kinds()[2:] == ["expiry_recovered", "expiry_recovered"]


def test_watch_is_spaced_by_its_interval_fleet_wide(
    watch: BalanceWatch, client: NusaSMSClient, box: Any
) -> None:
    assert watch.run(client, interval_s=60).skipped is None
    assert watch.run(client, interval_s=60).skipped == "watched within the interval"
    assert box.stats()["hits"] == 2  # one round: balance + credits


def test_watch_with_a_revoked_key_pauses_the_channels_and_alerts_once(
    watch: BalanceWatch, client: NusaSMSClient, box: Any, sink: Sink, circuit: Circuit
) -> None:
    box.set_account(revoked=True)
    report = watch.run(client, circuit=circuit, force=True)
    assert set(report.errors) == {"balance", "sms_credits"}
    assert report.snapshot is None
    opened = [a for a in sink.alerts if a.kind is AlertKind.BREAKER_OPENED]
    # One alert per credential that failed: the JSON API key and the SMS user/password.
    assert sorted(tuple(a.details["channels"]) for a in opened) == [
        ("sms", "sms_group"),
        ("wa", "wa_media", "wa_official", "wa_official_reply", "check"),
    ]
    rounds(watch, client, 2, circuit=circuit)
    assert len(sink.alerts) == 2


def test_probe_keeps_a_credit_pause_until_the_top_up_then_resumes_and_requeues(
    circuit: Circuit, client: NusaSMSClient, box: Any, sink: Sink, ledger: Ledger
) -> None:
    requeued: list[str] = []
    circuit.enqueue = lambda record: requeued.append(record.id)
    box.set_balance(wa=0.0)
    circuit.trip("wa", InsufficientCredit("HTTP 402"))
    record = MessageRecord(channel="wa", destination="6281234567890", payload={"message": "x"})
    mid = ledger.create(record)[0]
    circuit.hold(mid, "wa", "paused")

    first = run_probe(circuit, client, interval_s=30.0)
    assert (first.probed, first.closed) == (["balance"], [])
    assert run_probe(circuit, client, interval_s=30.0).skipped == "probed within the interval"

    box.set_balance(wa=1000.0)
    report = run_probe(circuit, client, interval_s=30.0, force=True)
    assert sorted(report.closed) == ["wa", "wa_media", "wa_official"]
    assert report.requeued == 1 and requeued == [mid]
    assert sink.kinds() == ["breaker_opened", "breaker_closed"]
    assert not any(s.open for s in circuit.board.states().values())
    assert run_probe(circuit, client, interval_s=30.0).skipped == "nothing to probe"


def test_probe_keeps_a_wrong_key_paused_and_never_a_manual_pause(
    circuit: Circuit, client: NusaSMSClient, box: Any, sink: Sink
) -> None:
    box.set_account(revoked=True)
    circuit.trip("sms", AuthError("SMS status -5"))
    circuit.pause(["check"])
    assert run_probe(circuit, client, interval_s=1.0, force=True).closed == []
    box.set_account(revoked=False)
    report = run_probe(circuit, client, interval_s=1.0, force=True)
    assert (report.probed, report.closed) == (["credits"], ["sms", "sms_group"])
    assert circuit.board.is_paused("check")  # manual: only `nusaworker resume` ends it
    hits = {h["path"] for h in box.hits()}
    assert hits == {"/api/command"}  # the SMS probe asked CREDITS, not the JSON API


def test_metrics_expose_balances_and_breakers_from_redis(
    watch: BalanceWatch, client: NusaSMSClient, box: Any, circuit: Circuit
) -> None:
    box.set_balance(wa=42.0)
    watch.run(client, force=True)
    circuit.trip("sms", InsufficientCredit("SMS -2"))
    registry = registry_for(CreditCollector([AccountCredit(client.account, circuit.board, watch)]))

    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(render(registry).decode())
        for s in family.samples
    }
    account = client.account
    assert samples[("nusaworker_balance", (("account", account), ("type", "wa")))] == 42.0
    assert samples[("nusaworker_balance_threshold", (("account", account), ("type", "wa")))] == 100
    assert samples[("nusaworker_balance_expiry_days", (("account", account), ("type", "wa")))] > 30
    sms_open = ("account", account), ("channel", "sms"), ("reason", "credit")
    assert samples[("nusaworker_breaker_open", sms_open)] == 1.0
    wa_closed = ("account", account), ("channel", "wa"), ("reason", "")
    assert samples[("nusaworker_breaker_open", wa_closed)] == 0.0

    port = free_port()
    server, thread = serve(registry, port, addr="127.0.0.1")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert (
        'nusaworker_breaker_open{account="' + account + '",channel="sms",reason="credit"} 1.0'
        in text
    )


def test_metrics_label_every_account_by_name_each_family_once(
    watch: BalanceWatch,
    client: NusaSMSClient,
    circuit: Circuit,
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    """A worker shows the credit of every account of the fleet, not only the default one's,
    in one collector: a family written twice is refused by Prometheus's parser."""
    watch.run(client, force=True)
    keys = Keys(prefix=key_prefix)
    other_board = BreakerBoard(redis_client, account="fp-of-the-second-account", keys=keys)
    other_watch = BalanceWatch(
        redis_client,
        account=other_board.account,
        keys=keys,
        alerter=Alerter([]),
        thresholds={"wa": 7.0},
        expiry_days=7,
    )
    Circuit(
        other_board, Ledger(redis_client, keys=keys), alerter=Alerter([]), enqueue=lambda r: None
    ).trip("wa", InsufficientCredit("WA -2"))
    collector = CreditCollector(
        [
            AccountCredit("nusasms", circuit.board, watch),
            AccountCredit("second", other_board, other_watch),
        ]
    )
    text = render(registry_for(collector)).decode()
    assert text.count("# HELP nusaworker_breaker_open ") == 1
    assert text.count("# HELP nusaworker_balance ") == 1
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("nusaworker_balance", (("account", "nusasms"), ("type", "wa")))] == 500.0
    assert samples[("nusaworker_balance_threshold", (("account", "second"), ("type", "wa")))] == 7
    wa_second = ("account", "second"), ("channel", "wa"), ("reason", "credit")
    assert samples[("nusaworker_breaker_open", wa_second)] == 1.0
    wa_first = ("account", "nusasms"), ("channel", "wa"), ("reason", "")
    assert samples[("nusaworker_breaker_open", wa_first)] == 0.0
    # The second account's watch has not read anything yet: no balance, no fake zero.
    assert not any(
        n == "nusaworker_balance" and ("account", "second") in labels for n, labels in samples
    )


def test_cost_estimate_matches_what_the_sandbox_charges(client: NusaSMSClient, box: Any) -> None:
    from nusaworker.credit.cost import Cost, messages_cost
    from nusaworker.providers import SmsRequest, WhatsAppMessageRequest

    texts = ["hi", "x" * 1501, "y" * 3001]
    sms_texts = ["a" * 161, "ş" * 71, "plain"]
    for text in texts:
        client.send_whatsapp("6281234567890", text)
    client.send_whatsapp_media("6281234567890", media_url="https://example.com/a.png")
    for text in sms_texts:
        client.send_sms("6281234567890", text)

    items: list[Any] = [
        ("wa", WhatsAppMessageRequest(destination="6281234567890", message=t).model_dump())
        for t in texts
    ]
    items.append(("wa_media", {}))
    items += [
        ("sms", SmsRequest(destination="6281234567890", text=t).model_dump()) for t in sms_texts
    ]
    estimate = messages_cost(items)
    after = box.balance()
    spent = Cost(wa=int(500 - after["wa_balance"]), sms=int(500 - after["sms_balance"]))
    assert estimate == spent == Cost(wa=1 + 2 + 3 + 2, sms=2 + 2 + 1)


@pytest.fixture
def wachat(box: Any, redis_url: str, key_prefix: str) -> Iterator[Any]:
    from nusaworker.providers.wachat import WAChatClient

    box.wachat.add_account("wachat", api_key="wachat-watch-key", senders={"gw1": 50, "gw2": 500})
    gate = RedisGate(redis_url, keys=Keys(prefix=key_prefix))
    with WAChatClient(
        base_url=box.url, api_key="wachat-watch-key", gate=gate, senders="gw1, gw2"
    ) as made:
        yield made
    gate.close()


def test_watch_and_probe_read_a_wachat_accounts_sender_quotas(
    wachat: Any, box: Any, redis_client: redis.Redis, key_prefix: str, ledger: Ledger, sink: Sink
) -> None:
    keys = Keys(prefix=key_prefix)
    alerter = Alerter([sink])
    watch = BalanceWatch(
        redis_client,
        account=wachat.account,
        keys=keys,
        alerter=alerter,
        thresholds={"wachat_quota": 100.0},
        expiry_days=7,
    )

    report = watch.run(wachat, force=True)
    assert report.snapshot is not None
    assert report.snapshot.balances == {"wachat_quota": 50.0}  # the smaller of 50 and 500 left
    assert sink.kinds() == ["balance_low"]

    # A sender at its limit (402) paused the account's WhatsApp: the probe closes it once a
    # watched sender has quota again.
    circuit = Circuit(
        BreakerBoard(redis_client, account=wachat.account, keys=keys),
        ledger,
        alerter=alerter,
        enqueue=lambda r: None,
    )
    box.wachat.set_sender("gw1", counter=50, account="wachat")
    box.wachat.set_sender("gw2", counter=500, account="wachat")
    circuit.trip("wa", InsufficientCredit("HTTP 402"))
    assert run_probe(circuit, wachat, interval_s=30.0).closed == []
    box.wachat.set_sender("gw2", limit=1000, account="wachat")
    report_after = run_probe(circuit, wachat, interval_s=30.0, force=True)
    assert report_after.probed == ["quota"] and "wa" in report_after.closed
