"""Campaigns end to end: a CSV → rows recorded in Redis → the dispatcher run by a real
`celery beat` keeping a window on the broker → a real worker (default pool) → the sandbox over
HTTP → the callback receiver. Every row is accounted for; pause, resume and cancel act at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nusaworker.campaigns import Campaigns, CampaignSpec, CampaignState
from nusaworker.campaigns.api import CANCELLED_REASON, ReportRow
from nusaworker.campaigns.recurring import RecurringCampaign
from nusaworker.ledger import MessageState
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.suppression import SuppressionList
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.recipients import FIVE
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

TOKEN = "campaign-callback-token-0123456789"
ALL_QUEUES = "otp,wa,wa_official,sms,check,status,housekeeping"


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:cmp:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=5) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def settings(redis_url: str, prefix: str, box: Sandbox) -> Settings:
    return Settings(
        redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url, callback_token=TOKEN
    )


@pytest.fixture(scope="module")
def receiver(settings: Settings, box: Sandbox) -> Iterator[CallbackServer]:
    with CallbackServer(create_app(settings)) as server:
        box.set_callback_url(f"{server.url}/{TOKEN}")
        yield server


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nusaworker-campaign-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet(
    redis_url: str,
    prefix: str,
    box: Sandbox,
    workdir: Path,
    receiver: CallbackServer,
    settings: Settings,
) -> Iterator[Fleet]:
    # The plain deployment: one worker with the pool and concurrency celeryconfig chooses, and
    # two beats (only one holds the beat lock; both would run the schedule's jobs if they could).
    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
    with Fleet(env) as running:
        running.start("cmp", ALL_QUEUES, pool=None, concurrency=8)
        beats = [BeatProcess.start(env, workdir, name=f"cmpbeat{i}") for i in (1, 2)]
        try:
            # Whichever takes the lock: waiting on the first alone cost 30 s when the second won.
            assert wait_for(lambda: any(b.active for b in beats), 35), beats[0].log()[-2000:]
            schedule_every_minute(settings)
            yield running
        finally:
            for beat in beats:
                beat.stop()


RECURRING = "every-minute"


def schedule_every_minute(settings: Settings) -> None:
    """A recurring campaign that runs while the module's other tests do (its waiting for the
    minute's turn costs the suite nothing); the last test checks its runs. Created two minutes
    ago, its current minute is due at once."""
    campaigns = Campaigns.from_settings(settings)
    campaigns.schedule(
        RecurringCampaign(
            name=RECURRING,
            cron="* * * * *",
            tz="Asia/Jakarta",
            recipients="nusaworker.testing.recipients:five",
            # force: the first run is due before the balance watch's first reading, and a run
            # started by beat checks the cost against that reading (unknown refuses).
            campaign={"channel": "wa", "template": "Good morning {name}", "force": True},
            created_at=time.time() - 120,
        )
    )
    campaigns.store.redis.close()


@pytest.fixture
def campaigns(settings: Settings, fleet: Fleet) -> Iterator[Campaigns]:
    made = Campaigns.from_settings(settings)
    yield made
    made.store.redis.close()


def wait_for(what: Callable[[], bool], timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(step)
    return what()


def sends_to(box: Sandbox, numbers: set[str]) -> Counter[str]:
    """How many messages the sandbox accepted for each of ``numbers``."""
    return Counter(
        str(m["destination"]) for m in box.messages() if str(m["destination"]) in numbers
    )


def in_flight(campaigns: Campaigns, campaign_id: str) -> int:
    """How many of the campaign's messages are claimed and not sent yet (``sending``)."""
    return campaigns.status(campaign_id).messages.get("sending", 0)


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["phone", "name"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_row_of_a_campaign_is_accounted_for(
    campaigns: Campaigns, settings: Settings, box: Sandbox, workdir: Path
) -> None:
    good = [{"phone": f"0812{70000000 + i}", "name": f"N{i}"} for i in range(240)]
    bad = [
        {"phone": "12", "name": "short"},  # invalid
        {"phone": good[0]["phone"], "name": "again"},  # duplicate
        {"phone": "081299990001", "name": ""},  # missing field
        {"phone": "081299990002", "name": "opted-out"},  # suppressed
    ]
    SuppressionList.from_settings(settings).add("6281299990002", source="api", note="test")
    path = write_csv(workdir / "every.csv", good[:100] + bad + good[100:])
    info = campaigns.create(
        CampaignSpec(name="every row", channel="wa", template="Hi {name}, promo"), path
    )
    assert info.rows == 240
    assert info.skipped == {"invalid": 1, "duplicate": 1, "missing_field": 1, "suppressed": 1}

    assert wait_for(lambda: campaigns.status(info.id).state is CampaignState.FINISHED, 60)
    # Until every message is final (or sent: the sandbox reports within seconds).
    wait_for(lambda: campaigns.status(info.id).messages.get("sent", 0) == 0, 30)
    done = campaigns.status(info.id)
    assert sum(done.messages.values()) == 240, done.messages
    assert done.messages.get("accepted", 0) == 0 and done.messages.get("sending", 0) == 0

    report = list(campaigns.report(info.id))
    assert [r.row for r in report] == list(range(1, 245))
    by_state = Counter(r.state for r in report)
    assert by_state["invalid"] == by_state["duplicate"] == 1
    assert by_state["missing_field"] == by_state["suppressed"] == 1
    finals = {s.value for s in MessageState if s.is_final} | {"sent"}
    assert sum(n for s, n in by_state.items() if s in finals) == 240, by_state
    failed = [r for r in report if r.state in ("failed", "rejected")]
    assert all(r.reason for r in failed)
    # Every accepted row was sent exactly once: the sandbox saw each number once.
    numbers = {r.destination for r in report if r.message_id}
    assert len(numbers) == 240
    hits = sends_to(box, numbers)
    assert set(hits) == numbers and set(hits.values()) == {1}

    # The counts the ledger's scripts kept agree with the records.
    # The report and the counts must agree. Delivery reports still move messages (delivered ->
    # read) after the campaign finished, so they are compared read together, once moves stop.
    def agree() -> bool:
        counted = Counter(campaigns.status(info.id).messages)
        reported = Counter(r.state for r in campaigns.report(info.id) if r.message_id)
        return counted == reported

    assert wait_for(agree, 15), (done.messages, by_state)


def test_pause_resume_and_cancel_act_at_once(
    campaigns: Campaigns, settings: Settings, box: Sandbox
) -> None:
    rows = [{"destination": f"62813{71000000 + i}", "name": f"P{i}"} for i in range(600)]
    info = campaigns.create(
        CampaignSpec(name="control", channel="wa", template="Hello {name}"), rows
    )
    numbers = {r["destination"] for r in rows}
    assert wait_for(lambda: sum(sends_to(box, numbers).values()) >= 40, 20)

    campaigns.pause(info.id)
    # A hit whose claim came before the pause may still land: its record stays `sending` until
    # the provider has it (no claim comes after the pause: the claim script reads it). Counted
    # once none is left, not after a guessed second (a loaded box is slower than that).
    assert wait_for(lambda: in_flight(campaigns, info.id) == 0, 30), in_flight(campaigns, info.id)
    paused_at = sum(sends_to(box, numbers).values())
    time.sleep(4.0)
    assert sum(sends_to(box, numbers).values()) == paused_at, "sends went on while paused"
    status = campaigns.status(info.id)
    assert status.state is CampaignState.PAUSED
    assert status.messages.get("sending", 0) == 0

    campaigns.resume(info.id)
    assert wait_for(lambda: sum(sends_to(box, numbers).values()) >= paused_at + 40, 20)

    cancelled = campaigns.cancel(info.id)
    assert cancelled.state is CampaignState.CANCELLED
    # Messages already being sent end as they end: counted once they have.
    assert wait_for(lambda: in_flight(campaigns, info.id) == 0, 30), in_flight(campaigns, info.id)
    at_cancel = sum(sends_to(box, numbers).values())
    time.sleep(4.0)
    assert sum(sends_to(box, numbers).values()) == at_cancel, "sends went on after the cancel"
    assert at_cancel < 600

    assert wait_for(lambda: campaigns.status(info.id).messages.get("accepted", 0) == 0, 10)
    report = list(campaigns.report(info.id))
    assert len(report) == 600
    states = Counter(r.state for r in report)
    # Nothing half-sent: what was handed out and not claimed is aborted (by the cancel, not
    # by the provider), the rest never left; every other row reached the provider once.
    withdrawn = {
        r.destination
        for r in report
        if r.state == "cancelled" or (r.state == "aborted" and r.reason == CANCELLED_REASON)
    }
    assert states["cancelled"] > 0 and len(withdrawn) == 600 - at_cancel, states
    hits = sends_to(box, numbers)
    assert set(hits.values()) == {1}
    assert set(hits) == numbers - withdrawn


def test_a_short_balance_refuses_the_campaign_unless_forced(settings: Settings) -> None:
    campaigns = Campaigns.from_settings(settings, balances=lambda: {"wa": 3.0, "sms": None})
    rows = [{"destination": f"62814{72000000 + i}"} for i in range(5)]
    spec = CampaignSpec(name="short", channel="wa", template="five credits")
    with pytest.raises(Exception, match="wa needs 5, has 3") as refused:
        campaigns.create(spec, rows)
    assert type(refused.value).__name__ == "CampaignRefused"
    assert campaigns.status(refused.value.campaign_id).state is CampaignState.CANCELLED  # type: ignore[attr-defined]
    forced = campaigns.create(spec, rows, force=True)
    assert forced.state is CampaignState.RUNNING
    campaigns.cancel(forced.id)
    assert isinstance(next(iter(campaigns.report(forced.id))), ReportRow)
    campaigns.store.redis.close()


def test_auto_sends_whatsapp_where_registered_and_sms_elsewhere(
    campaigns: Campaigns, box: Sandbox
) -> None:
    # The sandbox's rule: a number ending in 0 is not on WhatsApp.
    rows = [{"destination": f"62815{73000000 + i}"} for i in range(150)]
    numbers = {r["destination"] for r in rows}
    checks_before = sum(1 for h in box.hits() if str(h["path"]).endswith("/wa_phone_check"))
    info = campaigns.create(CampaignSpec(name="auto", channel="auto", template="Hi there"), rows)

    assert wait_for(lambda: campaigns.status(info.id).state is CampaignState.FINISHED, 60)
    report = {r.destination: r for r in campaigns.report(info.id)}
    assert set(report) == numbers
    for number, row in report.items():
        assert row.channel == ("sms" if number.endswith("0") else "wa"), row
    by_channel = Counter(m["channel"] for m in box.messages() if m["destination"] in numbers)
    assert by_channel == {"wa": 135, "sms": 15}
    # The campaign's 150 numbers were checked in full 100-number hits: two.
    checks = sum(1 for h in box.hits() if str(h["path"]).endswith("/wa_phone_check"))
    assert checks - checks_before == 2


def test_a_recurring_campaign_runs_once_per_period_with_two_beats(
    campaigns: Campaigns, box: Sandbox
) -> None:
    """Scheduled when the fleet started (``schedule_every_minute``), every minute, with two
    beats running: one campaign per fire time, none twice, none missed."""

    def runs() -> list[tuple[str, str]]:
        found = [(i.spec.name, i.id) for i in campaigns.list() if i.spec.name.startswith(RECURRING)]
        return sorted(found)

    assert wait_for(lambda: len(runs()) >= 2, 75, step=1.0), campaigns.recurring.last_runs()
    campaigns.unschedule(RECURRING)
    time.sleep(6)  # a late duplicate would show up within a beat tick or two
    done = runs()
    names = [name for name, _ in done]
    assert len(set(names)) == len(names) >= 2, names  # one campaign per fire time
    minutes = [
        dt.datetime.strptime(n.removeprefix(RECURRING + " "), "%Y-%m-%d %H:%M") for n in names
    ]
    assert all(b - a == dt.timedelta(minutes=1) for a, b in itertools.pairwise(minutes)), names
    for _, campaign_id in done:
        assert wait_for(
            lambda cid=campaign_id: campaigns.status(cid).state is CampaignState.FINISHED, 30
        )
    per_number = Counter(
        str(m["destination"]) for m in box.messages() if str(m["destination"]) in FIVE
    )
    assert per_number == {number: len(done) for number in FIVE}
