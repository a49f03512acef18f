"""The status page as a person sees it: a running fleet (a real worker and beat, the sandbox
over HTTP, a campaign sending), the receiver serving ``/status``, and a real headless Chromium
(Debian's ``chromium``; ``make browser``) loading it, refreshing it and taking a screenshot.

No Chromium on the machine is a failure, not a skip: `make test` installs it first.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from nusaworker.campaigns import Campaigns, CampaignSpec
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.browser import Chromium
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

CALLBACK_TOKEN = "status-browser-callback-token-0123456789"
STATUS_TOKEN = "status-browser-page-token-0123456789"
# No worker consumes `sms` here: what is sent there waits, a fixed depth for the page to show.
QUEUES = "otp,wa,wa_official,check,status,housekeeping"
# Half a minute or more at the account's 20 hits/s: the page is loaded while it sends (the
# test does not wait for the end; stopping the worker ends it).
ROWS = 600
REFUSED = "6281234567890"
SIZE = (1280, 900)


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:status:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=11) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def settings(redis_url: str, prefix: str, box: Sandbox) -> Settings:
    # The fleet's account (fleet_env's credentials), so the page finds the workers' gate.
    return Settings(
        redis_url=redis_url,
        key_prefix=prefix,
        nusasms_base_url=box.url,
        nusasms_api_key="test-key",
        nusasms_sms_user="user",
        nusasms_sms_password="pass",
        callback_token=CALLBACK_TOKEN,
        status_token=STATUS_TOKEN,
    )


@pytest.fixture(scope="module")
def receiver(settings: Settings, box: Sandbox) -> Iterator[CallbackServer]:
    app = create_app(settings)
    try:
        with CallbackServer(app) as server:
            box.set_callback_url(f"{server.url}/{CALLBACK_TOKEN}")
            yield server
    finally:
        app.ledger.redis.close()


@pytest.fixture(scope="module")
def fleet(redis_url: str, prefix: str, box: Sandbox, receiver: CallbackServer) -> Iterator[Fleet]:
    env = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)
    workdir = Path(tempfile.mkdtemp(prefix="nusaworker-status-"))
    with Fleet(env) as running:
        running.start("status", QUEUES, pool=None)
        beat = BeatProcess.start(env, workdir, name="statusbeat")
        try:
            assert beat.wait_active(30), beat.log()[-2000:]
            yield running
        finally:
            beat.stop()
            shutil.rmtree(workdir, ignore_errors=True)


class Marked(HTMLParser):
    """The ``data-*`` attributes of every element that has one, by element."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {k[5:]: v or "" for k, v in attrs if k.startswith("data-")}
        if data:
            self.elements.append(data)

    def find(self, name: str, value: str) -> dict[str, str]:
        found = [e for e in self.elements if e.get(name) == value]
        assert len(found) == 1, (name, value, self.elements)
        return found[0]


def marked(dom: str) -> Marked:
    parser = Marked()
    parser.feed(dom)
    return parser


def figures(receiver: CallbackServer) -> dict[str, Any]:
    answer = requests.get(
        f"{receiver.url}/status.json",
        headers={"Authorization": f"Bearer {STATUS_TOKEN}"},
        timeout=10,
    )
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def test_status_page_in_chromium_shows_the_running_fleet(
    settings: Settings, fleet: Fleet, receiver: CallbackServer, box: Sandbox, tmp_path: Path
) -> None:
    chromium = Chromium()  # no browser: BrowserMissing, a failure
    producer = Producer.from_settings(settings)
    campaigns = Campaigns.from_settings(settings)
    try:
        for i in range(3):
            producer.send_sms(f"62812000000{i:02d}", "promo", priority="bulk")
        producer.send_sms("6281200000099", "notice", priority="normal")
        # A refusal, as the send task records one (the ledger writes its dead letter).
        ledger = Ledger(producer.ledger.redis, keys=Keys(prefix=settings.key_prefix))
        payload = {"destination": REFUSED, "message": "x"}
        refused = ledger.create(MessageRecord(channel="wa", destination=REFUSED, payload=payload))
        ledger.mark_rejected(refused[0], "PermanentError: HTTP 422 invalid destination")
        rows = [{"phone": f"6281300{i:06d}", "name": f"friend {i}"} for i in range(ROWS)]
        spec = CampaignSpec(name="status-page spring", channel="wa", template="Hi {name}")
        campaign = campaigns.create(spec, rows).id

        def sending() -> bool:
            now = figures(receiver)
            done = now["campaigns"][0]["done"] if now["campaigns"] else 0
            return done >= 20 and now["accounts"][0]["hits_per_s"] > 0

        assert wait_for(sending, timeout=60), figures(receiver)
        url = f"{receiver.url}/status?token={STATUS_TOKEN}"
        sandbox_before = box.stats()["accounts"]["main"]["hits"]
        done_before = campaigns.status(campaign).done
        # Five seconds of the page's own timers: its script refreshes it from the receiver.
        dom = chromium.dump_dom(url, virtual_time_s=5)
        done_after = campaigns.status(campaign).done
        gate_hits = figures(receiver)["accounts"][0]["hits"]
        sandbox_after = box.stats()["accounts"]["main"]["hits"]
        shot = chromium.screenshot(url, tmp_path / "status.png", width=SIZE[0], height=SIZE[1])
    finally:
        campaigns.store.redis.close()
        producer.ledger.redis.close()

    page = marked(dom)
    body = next(e for e in page.elements if "refreshes" in e)
    assert int(body["refreshes"]) >= 1
    account = page.find("account", "nusasms")
    assert 0 < float(account["hits-per-s"]) <= 21  # the rule: 20 hits/s (the estimate ±1)
    assert 0 < float(account["utilisation"]) <= 1.05
    sms = page.find("queue", "sms")
    assert (sms["depth"], sms["priority-bulk"], sms["priority-normal"]) == ("4", "3", "1")
    row = page.find("campaign", campaign)
    assert row["rows"] == str(ROWS)
    assert done_before <= int(row["done"]) <= done_after
    assert int(row["percent"]) == int(100 * int(row["done"]) / ROWS)
    assert "status-page spring" in dom
    assert page.find("failure", refused[0]) and REFUSED not in dom and REFUSED[-3:] in dom
    assert STATUS_TOKEN not in dom and CALLBACK_TOKEN not in dom
    # The gate counts what the provider got: at most the one hit in flight apart.
    assert sandbox_before - 1 <= gate_hits <= sandbox_after + 1

    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == SIZE
        colours = image.convert("RGB").getcolors(maxcolors=SIZE[0] * SIZE[1])
    assert colours is not None
    commonest = max(count for count, _ in colours)
    assert len(colours) >= 16, "a blank or flat screenshot"
    assert commonest < 0.9 * SIZE[0] * SIZE[1]
