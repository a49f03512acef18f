"""A fleet's metrics, scraped over HTTP as Prometheus scrapes them, against the sandbox's own
counts: a worker with the default pool and one with ``--pool prefork -c 2`` (whose children
count into files that the main process sums), and the callback receiver's ``/metrics``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from nusaworker.factories import broker_app
from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.routing import SEND_TASK
from nusaworker.settings import Settings
from nusaworker.testing.fleet import REPO_ROOT, Fleet, fleet_env
from nusaworker.testing.redis_server import free_port
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

N_WA, N_SMS, N_OTP = 12, 8, 2
BACKUP_KEY = "backup-key-5f1e2d3c"
TOKEN = "metrics-test-token-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "nusaworker.json"


def scrape(url: str) -> Samples:
    answer = requests.get(url, timeout=5)
    answer.raise_for_status()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def families(url: str) -> set[str]:
    """The family names an endpoint declares (``# TYPE`` lines: also those with no sample)."""
    text = requests.get(url, timeout=5).text
    return {_family(n) for n in re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE)}


def _family(name: str) -> str:
    return re.sub(r"_(total|bucket|count|sum)$", "", name)


def dashboard_families() -> set[str]:
    """Every family the Grafana dashboard's queries read."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = " ".join(t["expr"] for p in panels for t in p.get("targets", []))
    names = set(re.findall(r"nusaworker_[a-z_]+", exprs))
    return {_family(n) for n in names}


def pushes(samples: Samples) -> float:
    """Status pushes the receiver answered 200 (its own /metrics answers are counted too)."""
    return sum(
        total(samples, "nusaworker_callbacks_total", route=route, status="200")
        for route in ("wa/status", "sms/status")
    )


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and want <= have)


@pytest.fixture
def receiver(redis_url: str, key_prefix: str) -> Iterator[CallbackServer]:
    settings = Settings(redis_url=redis_url, key_prefix=key_prefix, callback_token=TOKEN)
    with CallbackServer(create_app(settings)) as server:
        yield server


@pytest.mark.parametrize("pool", [None, "prefork"], ids=["default-pool", "prefork"])
def test_metrics_of_a_fleet_match_the_sandbox_counts(
    pool: str | None,
    redis_url: str,
    key_prefix: str,
    make_sandbox: Any,
    receiver: CallbackServer,
    tmp_path: Path,
) -> None:
    box = make_sandbox(seed=7, status_step_s=0.1)  # statuses in tenths of a second
    box.add_account("second", api_key=BACKUP_KEY, sms_user="user2", sms_password="pass2")
    box.set_callback_url(f"{receiver.url}/{TOKEN}")
    accounts = [
        {
            "name": "backup",
            "base_url": box.url,
            "credentials": {"api_key": BACKUP_KEY, "sms_user": "user2", "sms_password": "pass2"},
        }
    ]
    routes = {"sms": ["backup"]}
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    env = fleet_env(
        redis_url=redis_url,
        key_prefix=key_prefix,
        base_url=box.url,
        metrics_port=str(port),
        metrics_dir=str(metrics_dir),
        accounts=json.dumps(accounts),
        routes=json.dumps(routes),
    )
    settings = Settings(redis_url=redis_url, key_prefix=key_prefix, nusasms_base_url=box.url)
    producer = Producer.from_settings(settings)
    receiver_url = f"{receiver.url}/metrics"
    pushes_before = pushes(scrape(receiver_url))

    with Fleet(env) as fleet:
        concurrency = 2 if pool == "prefork" else 4
        fleet.start("metrics", "wa,sms", pool=pool, concurrency=concurrency)
        ids = [producer.send_whatsapp(f"62812000{i:05d}", f"hello {i}") for i in range(N_WA)]
        ids += [producer.send_sms(f"62813000{i:05d}", f"sms {i}") for i in range(N_SMS)]
        # Queues nobody consumes here: OTPs (step 0 of `otp`) and one bulk task on `status`
        # (its step-6 sub-list), published by Celery as any producer publishes.
        for i in range(N_OTP):
            producer.send_sms(f"62814000{i:05d}", f"code {i}", otp=True)
        broker_app(settings).send_task(SEND_TASK, args=["nothing"], queue="status", priority=6)

        def sent() -> bool:
            states = producer.ledger.counts_by_state(ids)
            return not (states.get(MessageState.ACCEPTED) or states.get(MessageState.SENDING))

        assert wait_for(sent, 30)
        fleet.drain(until=lambda: len(box.hits()) >= N_WA + N_SMS)
        worker_url = f"http://127.0.0.1:{port}/metrics"
        worker = scrape(worker_url)

        hits = {name: len(box.hits(account=name)) for name in ("main", "second")}
        assert hits == {"main": N_WA, "second": N_SMS}
        for ours, theirs in (("nusasms", "main"), ("backup", "second")):
            assert total(worker, "nusaworker_sends_total", account=ours) == hits[theirs]
            assert (
                total(worker, "nusaworker_sends_total", account=ours, outcome="sent")
                == (hits[theirs])
            )
            assert total(worker, "nusaworker_hits_total", account=ours) == hits[theirs]
            assert (
                total(worker, "nusaworker_gate_wait_seconds_count", account=ours) == (hits[theirs])
            )
        assert total(worker, "nusaworker_sends_total", channel="wa") == N_WA
        assert total(worker, "nusaworker_send_errors_total") == 0
        assert total(worker, "nusaworker_retries_total") == 0
        assert total(worker, "nusaworker_account_max_hits_per_second", account="nusasms") == 20
        assert total(worker, "nusaworker_queue_length", queue="otp", priority="0") == N_OTP
        assert total(worker, "nusaworker_queue_length", queue="status", priority="6") == 1
        assert total(worker, "nusaworker_queue_length", queue="wa") == 0
        # Balances and breakers of both declared accounts, labelled by name like the sends.
        credit = {dict(have)["account"] for n, have in worker if n == "nusaworker_breaker_open"}
        assert credit == {"nusasms", "backup"}
        # The dashboard reads only families the fleet declares (no typo, no stale name).
        declared = families(worker_url) | families(receiver_url)
        assert dashboard_families() - declared == set()
        if pool == "prefork":
            # Both children sent, each into its own file, and the figures above are their sum.
            assert len(list(metrics_dir.glob("counter_*.db"))) >= 2

        # The sandbox pushes each message's statuses to the receiver; its /metrics counts them.
        # Settled: every message at its last status and the counts equal on two polls in a row.
        agreed = 0

        def pushed() -> bool:
            nonlocal agreed
            final = all(m["status"] == m["path"][-1] for m in box.messages())
            box.wait_callbacks(2)
            counted = pushes(scrape(receiver_url))
            same = final and counted - pushes_before == box.stats()["callbacks_sent"]
            agreed = agreed + 1 if same else 0
            return agreed >= 2

        assert wait_for(pushed, 30)
        stats = box.stats()
        assert stats["callbacks_sent"] >= N_WA + N_SMS and stats["callbacks_failed"] == 0
        receiver_samples = scrape(receiver_url)
        assert total(receiver_samples, "nusaworker_callbacks_total", route="wa/status") > 0
        assert total(receiver_samples, "nusaworker_callbacks_total", route="metrics") > 0
        assert not any(TOKEN in str(labels) for _, labels in receiver_samples)

        # The ledger's states as the worker shows them: the records as they are.
        states = {str(k): v for k, v in producer.ledger.counts_by_state(ids).items()}
        states[MessageState.ACCEPTED.value] = N_OTP
        worker = scrape(worker_url)
        for state in MessageState:
            shown = total(worker, "nusaworker_ledger_messages", state=state.value)
            assert shown == states.get(state.value, 0), state


def test_a_killed_workers_metrics_directory_is_swept_by_the_next_worker(
    redis_url: str, key_prefix: str, make_sandbox: Any, tmp_path: Path
) -> None:
    """A SIGKILLed worker cannot remove its private directory (1 MiB files): the next worker
    on the machine removes those of dead processes before it makes its own."""
    box = make_sandbox(seed=8)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {
        **fleet_env(
            redis_url=redis_url,
            key_prefix=key_prefix,
            base_url=box.url,
            metrics_port=str(free_port()),
        ),
        "TMPDIR": str(scratch),  # where a worker without NUSAWORKER_METRICS_DIR makes its own
    }
    with Fleet(env) as fleet:
        first = fleet.start("sweep1", "wa", concurrency=1)
        made = list(scratch.glob("nusaworker-metrics-*"))
        assert len(made) == 1, made
        first.kill()
        assert made[0].exists()  # nobody removed it: the kill left it behind
        fleet.start("sweep2", "wa", concurrency=1)
        now = list(scratch.glob("nusaworker-metrics-*"))
        assert not made[0].exists() and len(now) == 1, now
    assert not list(scratch.glob("nusaworker-metrics-*"))  # the stop removed the second's
