"""The dispatcher against a real Redis and a real ledger, with a clock the test moves: the
start time, the rate share, the bounded window, a tick interrupted half-way, and the end."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import redis
from pydantic import ValidationError

from nusaworker.campaigns import Campaigns, CampaignSpec, CampaignState
from nusaworker.campaigns.dispatch import Dispatcher
from nusaworker.campaigns.recurring import RecurringCampaign
from nusaworker.campaigns.store import CampaignStore, row_id
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageState

pytestmark = pytest.mark.integration

T0 = 1_800_000_000.0
RATE = 20.0  # the account's hits/s
IN_FLIGHT = 6  # the default: unsent messages a campaign may have at once


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys(key_prefix: str) -> Keys:
    return Keys(prefix=key_prefix)


@pytest.fixture
def ledger(redis_client: redis.Redis, keys: Keys) -> Ledger:
    return Ledger(redis_client, keys=keys)


@pytest.fixture
def sent() -> list[tuple[str, str, str]]:
    return []


@pytest.fixture
def campaigns(
    redis_client: redis.Redis, keys: Keys, ledger: Ledger, clock: Clock, sent: list
) -> Campaigns:
    store = CampaignStore(redis_client, keys=keys, clock=clock)
    return Campaigns(store, ledger, enqueue=lambda *task: sent.append(task))


@pytest.fixture
def dispatcher(campaigns: Campaigns, clock: Clock, sent: list) -> Dispatcher:
    return Dispatcher(
        campaigns.store,
        campaigns.ledger,
        enqueue=lambda *task: sent.append(task),
        rate_of=lambda channel: RATE,
        in_flight=IN_FLIGHT,
        clock=clock,
    )


def rows(n: int) -> list[dict[str, str]]:
    return [{"destination": f"62812{80000000 + i}", "name": f"N{i}"} for i in range(n)]


def claim_all(ledger: Ledger, sent: list[tuple[str, str, str]]) -> int:
    """What a worker does with every queued task: claim, send, record sent."""
    done = 0
    for message_id, _, _ in sent:
        claim = ledger.claim(message_id)
        if claim.token:
            ledger.mark_sent(message_id, claim.token, f"R{message_id}", next_poll_at=0)
            done += 1
    sent.clear()
    return done


def test_a_campaign_waits_for_its_start_time(
    campaigns: Campaigns, dispatcher: Dispatcher, clock: Clock, sent: list
) -> None:
    spec = CampaignSpec(name="later", channel="wa", template="Hi {name}", start_at=T0 + 60)
    info = campaigns.create(spec, rows(10))
    assert info.state is CampaignState.SCHEDULED
    dispatcher.run()
    assert sent == [] and campaigns.status(info.id).state is CampaignState.SCHEDULED
    clock.now = T0 + 61
    dispatcher.run()
    assert len(sent) == IN_FLIGHT and campaigns.status(info.id).state is CampaignState.RUNNING
    assert campaigns.status(info.id).started_at == T0 + 61


@pytest.mark.parametrize("share", [1.0, 0.5, 0.1])
def test_the_rate_share_bounds_what_is_handed_out_per_second(
    campaigns: Campaigns, dispatcher: Dispatcher, clock: Clock, sent: list, share: float
) -> None:
    info = campaigns.create(
        CampaignSpec(name="share", channel="sms", template="Hi {name}", rate_share=share),
        rows(2_000),
    )
    first = dispatcher.run()[0].dispatched
    assert first == min(IN_FLIGHT, int(share * RATE))  # a second's tokens, as room allows

    def second() -> int:
        """One simulated second: a worker sends what is queued, each send tops the campaign
        up, and beat ticks once."""
        handed = 0
        for _ in range(10):
            clock.now += 0.1
            queued = list(sent)
            sent.clear()
            for task in queued:
                claim_all(campaigns.ledger, [task])
                handed += dispatcher.top_up(info.id)
        return handed + dispatcher.run()[0].dispatched

    warm = sum(second() for _ in range(2))  # the tokens saved up at the start are spent
    handed = sum(second() for _ in range(20))
    assert handed == pytest.approx(20 * share * RATE, abs=2)
    assert campaigns.status(info.id).cursor == first + warm + handed


def test_few_are_in_flight_when_nothing_is_claimed(
    campaigns: Campaigns, dispatcher: Dispatcher, clock: Clock, sent: list
) -> None:
    info = campaigns.create(CampaignSpec(name="w", channel="wa", template="Hi"), rows(1_000))
    for _ in range(30):
        dispatcher.run()
        dispatcher.top_up(info.id)
        clock.now += 1.0
    status = campaigns.status(info.id)
    # Nobody claims: the broker holds the few in flight, not the campaign.
    assert status.queued == len(sent) == IN_FLIGHT == status.cursor
    assert status.messages == {"accepted": IN_FLIGHT}


def test_an_interrupted_tick_makes_no_row_twice(
    campaigns: Campaigns, clock: Clock, sent: list
) -> None:
    dispatcher = Dispatcher(
        campaigns.store,
        campaigns.ledger,
        enqueue=lambda *task: sent.append(task),
        rate_of=lambda channel: RATE,
        in_flight=100,
        clock=clock,
    )
    info = campaigns.create(CampaignSpec(name="i", channel="wa", template="Hi"), rows(20))
    # A tick that made the records and enqueued them, then died before moving the cursor.
    loaded = campaigns.status(info.id)
    head = campaigns.store.rows(info.id, 0, 10)
    dispatcher._hand_out(loaded, head, ["wa"] * 10)
    assert len(sent) == 10 and campaigns.status(info.id).cursor == 0
    claimed = 0
    ledger = campaigns.ledger
    for message_id, _, _ in sent[:4]:
        claim = ledger.claim(message_id)
        assert claim.token
        ledger.mark_sent(message_id, claim.token, "R", next_poll_at=0)
        claimed += 1
    sent.clear()
    dispatcher.run()
    # The next tick made the same ten again: the four claimed are left alone, the six still
    # accepted are enqueued again (their first task would find them claimed), the rest are new.
    again = [message_id for message_id, _, _ in sent]
    assert row_id(info.id, 1) not in again and row_id(info.id, 5) in again
    assert len(again) == 20 - claimed
    assert campaigns.status(info.id).cursor == 20
    assert campaigns.status(info.id).messages == {"accepted": 16, "sent": 4}


def test_a_campaign_finishes_when_every_row_is_claimed_and_says_so(
    campaigns: Campaigns,
    dispatcher: Dispatcher,
    clock: Clock,
    sent: list,
    redis_client: redis.Redis,
    keys: Keys,
) -> None:
    info = campaigns.create(CampaignSpec(name="end", channel="wa", template="Hi"), rows(12))
    dispatcher.run()
    assert campaigns.status(info.id).state is CampaignState.RUNNING
    assert claim_all(campaigns.ledger, sent) == IN_FLIGHT
    assert dispatcher.top_up(info.id) == IN_FLIGHT  # one out for each one done
    assert claim_all(campaigns.ledger, sent) == 12 - IN_FLIGHT
    assert dispatcher.top_up(info.id) == 0
    clock.now += 1
    ticks = dispatcher.run()
    assert ticks[0].events == ["finished"]
    done = campaigns.status(info.id)
    assert done.state is CampaignState.FINISHED and done.messages == {"sent": 12}
    assert info.id not in campaigns.store.active()
    assert redis_client.ttl(keys.campaign(info.id)) > 0  # kept as long as its records
    events = [
        json.loads(fields["data"])
        for _, fields in redis_client.xrange(keys.events)
        if fields.get("type") == "campaign"
    ]
    assert [e["event"] for e in events] == ["accepted", "started", "finished"]
    assert events[-1]["counts"] == {"sent": 12}


def test_pause_and_cancel_hold_what_is_queued(
    campaigns: Campaigns, dispatcher: Dispatcher, clock: Clock, sent: list
) -> None:
    info = campaigns.create(CampaignSpec(name="pc", channel="wa", template="Hi"), rows(300))
    dispatcher.run()
    queued = list(sent)
    sent.clear()
    campaigns.pause(info.id)
    clock.now += 5
    dispatcher.run()
    assert sent == []  # nothing handed out while paused
    ledger = campaigns.ledger
    refused = [ledger.claim(m).outcome.value for m, _, _ in queued[:10]]
    assert set(refused) == {"paused"}
    campaigns.resume(info.id)
    assert {m for m, _, _ in sent} == {m for m, _, _ in queued}  # the window, enqueued again
    campaigns.cancel(info.id)
    status = campaigns.status(info.id)
    assert status.state is CampaignState.CANCELLED and status.queued == 0
    assert status.messages == {"aborted": IN_FLIGHT}
    assert all(ledger.get(m).state is MessageState.ABORTED for m, _, _ in queued)
    with pytest.raises(Exception, match="cancelled: it cannot be resumed"):
        campaigns.resume(info.id)


def test_a_recurring_campaign_is_checked_when_scheduled_and_named_after_its_run(
    campaigns: Campaigns, dispatcher: Dispatcher, sent: list
) -> None:
    bad = RecurringCampaign(
        name="bad",
        cron="0 9 * * *",
        tz="UTC",
        recipients="nusaworker.testing.recipients:five",
        campaign={"channel": "fax", "template": "Hi"},
    )
    with pytest.raises(ValidationError, match="channel"):
        campaigns.schedule(bad)
    assert campaigns.recurring.get("bad") is None

    good = RecurringCampaign(
        name="morning",
        cron="0 9 * * *",
        tz="Asia/Jakarta",
        recipients="nusaworker.testing.recipients:five",
        campaign={"channel": "wa", "template": "Good morning {name}"},
    )
    campaigns.schedule(good)
    fire_at = 1_800_003_600.0  # 2027-01-15 16:00 in Jakarta (any instant will do here)
    campaign_id = campaigns.start_recurring(good, fire_at)
    info = campaigns.status(campaign_id)
    assert info.spec.name == "morning 2027-01-15 16:00"  # the run's time on its zone's clock
    assert info.rows == 5 and info.state is CampaignState.RUNNING
    dispatcher.run()
    assert len(sent) == 5


def test_a_sending_window_closes_and_reopens_by_itself(
    campaigns: Campaigns, dispatcher: Dispatcher, clock: Clock, sent: list
) -> None:
    jakarta = ZoneInfo("Asia/Jakarta")
    clock.now = dt.datetime(2027, 1, 15, 19, 59, 50, tzinfo=jakarta).timestamp()
    spec = CampaignSpec(
        name="window", channel="wa", template="Hi", window="08:00-20:00 Asia/Jakarta"
    )
    info = campaigns.create(spec, rows(500))
    dispatcher.run()
    queued = [message_id for message_id, _, _ in sent]
    assert len(queued) == IN_FLIGHT
    sent.clear()

    clock.now += 10  # 20:00:00: closed
    assert dispatcher.run()[0].events == ["window_closed"]
    assert campaigns.status(info.id).state is CampaignState.WAITING
    # What is queued is not claimed outside the window; nothing more is handed out.
    assert {campaigns.ledger.claim(m).outcome.value for m in queued[:20]} == {"paused"}
    for _ in range(3):
        clock.now += 3600
        dispatcher.run()
    assert sent == [] and campaigns.status(info.id).cursor == IN_FLIGHT

    clock.now = dt.datetime(2027, 1, 16, 8, 0, 0, tzinfo=jakarta).timestamp()
    tick = dispatcher.run()[0]
    assert tick.events == ["window_opened"] and tick.requeued == IN_FLIGHT
    assert campaigns.status(info.id).state is CampaignState.RUNNING
    assert set(queued) <= {message_id for message_id, _, _ in sent}
