"""``nusaworker campaign …`` as an operator runs it: the installed console script in its own
process, against a real fleet (a worker, beat running the dispatcher, the sandbox over HTTP, the
callback receiver) on a real Redis. Each campaign is small (~60 rows: a few seconds at the
account's 20 hits/s) unless a test needs one that is still running."""

from __future__ import annotations

import csv
import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from nusaworker.ledger import MessageState
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

TOKEN = "campaign-cli-callback-token-0123456789"
ALL_QUEUES = "otp,wa,wa_official,sms,check,status,housekeeping"
# The console script `pip install` made, beside this interpreter: what an operator types.
SCRIPT = Path(sys.executable).with_name("nusaworker")
MESSAGE_STATES = {s.value for s in MessageState}


@pytest.fixture(scope="module")
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:cmpcli:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    with Sandbox(host="127.0.0.1", port=0, seed=11) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def env(redis_url: str, prefix: str, box: Sandbox) -> dict[str, str]:
    return fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=box.url)


@pytest.fixture(scope="module")
def receiver(redis_url: str, prefix: str, box: Sandbox) -> Iterator[CallbackServer]:
    settings = Settings(
        redis_url=redis_url, key_prefix=prefix, nusasms_base_url=box.url, callback_token=TOKEN
    )
    with CallbackServer(create_app(settings)) as server:
        box.set_callback_url(f"{server.url}/{TOKEN}")
        yield server


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nusaworker-campaign-cli-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet(
    env: dict[str, str], box: Sandbox, workdir: Path, receiver: CallbackServer
) -> Iterator[Fleet]:
    with Fleet(env) as running:
        running.start("cmpcli", ALL_QUEUES, pool=None, concurrency=8)
        beat = BeatProcess.start(env, workdir, name="cmpclibeat")
        try:
            assert beat.wait_active(30), beat.log()[-2000:]
            yield running
        finally:
            beat.stop()


def command(env: dict[str, str], *args: str) -> list[str]:
    assert SCRIPT.exists(), f"the console script is not installed at {SCRIPT} (make setup)"
    return [str(SCRIPT), "campaign", *args]


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(env, *args), env={**os.environ, **env}, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["phone", "name"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def people(count: int, base: int) -> list[dict[str, str]]:
    return [{"phone": f"0812{base + i}", "name": f"N{i}"} for i in range(count)]


def campaign_id(stdout: str) -> str:
    found = re.search(r"^campaign (\w+) ", stdout, re.MULTILINE)
    assert found, stdout
    return found.group(1)


def test_cli_campaign_run_follows_to_the_end_and_reports_every_row(
    env: dict[str, str], fleet: Fleet, workdir: Path
) -> None:
    good = people(60, 71000000)
    bad = [{"phone": "12", "name": "short"}, {"phone": good[3]["phone"], "name": "again"}]
    path = write_csv(workdir / "follow.csv", good[:30] + bad + good[30:])

    done = cli(env, "run", str(path), "--template", "Hi {name}", "--follow", "--every", "1")

    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout.splitlines()
    cid = campaign_id(done.stdout)
    assert out[0] == f'campaign {cid} "follow" on wa: running'
    assert out[1:4] == [
        "  rows accepted  60",
        "  skipped        2 (duplicate 1, invalid 1)",
        "  cost           wa 60",
    ]
    progress = [line for line in out if line.startswith("[")]
    assert len(progress) >= 2, done.stdout  # one a second while it sends, then the last
    assert re.search(r"\] running \| handed out \d+/60 \| done \d+/60", progress[0])
    assert re.match(
        r"\[\d\d:\d\d\] finished \| handed out 60/60 \| done 60/60 \(100%\)", progress[-1]
    )
    tail = out[out.index(progress[-1]) + 1 :]  # the summary, a note on sent messages, the report
    assert tail[0].startswith(f"campaign {cid} finished: 60 rows: ")
    assert len(tail) == 2 or "still wait for their delivery reports" in tail[1]
    assert tail[-1] == f"per-row report: nusaworker campaign report {cid}"
    assert done.stderr == ""

    status = cli(env, "status", cid, "--json")
    assert status.returncode == 0, status.stderr
    shown = json.loads(status.stdout)
    assert (shown["id"], shown["name"], shown["channel"], shown["state"]) == (
        cid, "follow", "wa", "finished",
    )  # fmt: skip
    assert (shown["rows"], shown["dispatched"], shown["pending"], shown["done"]) == (60, 60, 0, 60)
    assert shown["skipped"] == {"invalid": 1, "duplicate": 1}
    assert shown["cost"] == {"wa": 60}
    assert sum(shown["messages"].values()) == 60
    assert not {"accepted", "sending"} & set(shown["messages"])
    assert shown["started_at"] <= shown["ended_at"]

    report = cli(env, "report", cid)
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert lines[0] == "row,destination,state,reason,message_id,channel,ref_no"
    rows = list(csv.DictReader(lines))
    assert [int(r["row"]) for r in rows] == list(range(1, 63))  # one line per source row
    assert (rows[30]["state"], rows[31]["state"]) == ("invalid", "duplicate")
    assert rows[31]["destination"] == "6281271000003" and rows[31]["reason"]
    sent = [r for r in rows if r["message_id"]]
    assert len(sent) == 60
    assert all(r["state"] in MESSAGE_STATES and r["channel"] == "wa" for r in sent)
    assert all(r["ref_no"] for r in sent if r["state"] in ("sent", "delivered", "read"))
    # (Counts per state are not compared: delivery reports keep moving them meanwhile.)
    assert not {"accepted", "sending"} & {r["state"] for r in sent}

    jsonl = workdir / "report.jsonl"
    written = cli(env, "report", cid, "--format", "json", "-o", str(jsonl))
    assert written.returncode == 0 and written.stdout == "", written.stderr
    records = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["row"] for r in records] == list(range(1, 63))
    assert records[30] == {**records[30], "state": "invalid", "message_id": ""}

    nowhere = cli(env, "report", cid, "-o", str(workdir / "no-such-dir" / "r.csv"))
    assert nowhere.returncode == 2
    assert nowhere.stderr.startswith("nusaworker: -o: cannot write ")

    human = cli(env, "status", cid)
    assert human.stdout.splitlines()[0] == f'campaign {cid} "follow" on wa: finished'
    listed = cli(env, "list", "--json")
    assert cid in [c["id"] for c in json.loads(listed.stdout)]
    assert cid in cli(env, "list").stdout
    again = cli(env, "status", cid, "--follow", "--json")  # final already: one reading
    assert again.returncode == 0
    [last] = [json.loads(line) for line in again.stdout.splitlines()]
    assert (last["state"], last["done"], last["eta_s"]) == ("finished", 60, 0.0)

    refused = cli(env, "pause", cid)
    assert refused.returncode == 1
    assert refused.stderr.strip() == f"nusaworker: campaign {cid} is finished: it cannot be paused"


def test_cli_campaign_follow_on_a_terminal_draws_the_live_view(
    env: dict[str, str], fleet: Fleet, workdir: Path
) -> None:
    path = write_csv(workdir / "tty.csv", people(30, 72000000))
    leader, follower = pty.openpty()
    with subprocess.Popen(
        command(env, "run", str(path), "--template", "Hello {name}", "--follow"),
        env={**os.environ, **env, "COLUMNS": "100"}, stdin=subprocess.DEVNULL, stdout=follower,
        stderr=subprocess.PIPE,
    ) as proc:  # fmt: skip
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the process closed its end
                break
            if not chunk:
                break
            shown += chunk
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    os.close(leader)
    text = shown.decode(errors="replace")
    assert "━" in text  # rich's bars
    assert "handed out" in text and "30/30 100%" in text
    assert "msg/s (last 10 s)" in text
    assert "finished" in text and "per-row report: nusaworker campaign report" in text


def test_cli_campaign_pause_resume_cancel_and_ctrl_c(
    env: dict[str, str], fleet: Fleet, workdir: Path
) -> None:
    path = write_csv(workdir / "control.csv", people(600, 73000000))
    started = cli(env, "run", str(path), "--template", "Hey {name}", "--share", "0.5")
    assert started.returncode == 0, started.stderr
    cid = campaign_id(started.stdout)
    assert f"pause: nusaworker campaign pause {cid}" in started.stdout

    def state() -> str:
        return str(json.loads(cli(env, "status", cid, "--json").stdout)["state"])

    paused = cli(env, "pause", cid)
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith(f"campaign {cid} paused: nothing more is claimed")
    assert state() == "paused"
    twice = cli(env, "pause", cid)
    assert twice.returncode == 1
    assert twice.stderr.strip() == f"nusaworker: campaign {cid} is paused: it cannot be paused"

    # Following a paused campaign never ends by itself: Ctrl-C stops following, not it.
    with subprocess.Popen(
        command(env, "status", cid, "--follow", "--every", "1"), env={**os.environ, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as follower:  # fmt: skip
        assert follower.stdout is not None
        first = follower.stdout.readline()
        assert "] paused | handed out" in first and "ETA —" in first
        follower.send_signal(signal.SIGINT)
        rest, errors = follower.communicate(timeout=30)
    assert follower.returncode == 130, errors
    assert f"stopped following; campaign {cid} is paused and goes on." in rest
    assert f"nusaworker campaign cancel {cid}" in rest
    assert "Traceback" not in errors
    assert state() == "paused"

    resumed = cli(env, "resume", cid)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.startswith(f"campaign {cid} resumed")
    assert state() == "running"

    cancelled = cli(env, "cancel", cid)
    assert cancelled.returncode == 0, cancelled.stderr
    assert cancelled.stdout.startswith(f"campaign {cid} cancelled: no row is handed out")
    assert state() == "cancelled"
    for action in ("cancel", "resume", "pause"):
        late = cli(env, action, cid)
        assert late.returncode == 1, late.stdout
        assert "is cancelled: it cannot be" in late.stderr
    ended = cli(env, "status", cid, "--follow")  # a cancelled campaign: exit 1
    assert ended.returncode == 1
    assert f"\ncampaign {cid} cancelled: 600 rows: " in ended.stdout
    states = Counter(
        r["state"] for r in csv.DictReader(cli(env, "report", cid).stdout.splitlines())
    )
    assert sum(states.values()) == 600 and states["cancelled"] > 0, states


def test_cli_campaign_unknown_id_exits_1(env: dict[str, str], workdir: Path) -> None:
    target = workdir / "never.csv"
    for args in (
        ("status", "nope"),
        ("pause", "nope"),
        ("resume", "nope"),
        ("cancel", "nope"),
        ("report", "nope", "-o", str(target)),
        ("status", "nope", "--follow"),
    ):
        done = cli(env, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert done.stderr.strip() == "nusaworker: no campaign 'nope'", args
    assert not target.exists()
    assert cli(env, "list", "--limit", "0").returncode == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--template", "Hi {name"), "nusaworker: invalid campaign: --template: "),
        (("--template", "Hi", "--share", "2"),
         "nusaworker: invalid campaign: --share: Input should be less than or equal to 1"),
        (("--template", "Hi", "--region", "X"), "nusaworker: invalid campaign: --region: "),
        (("--template", "Hi", "--start-at", "next tuesday"), "argument --start-at: expected ISO"),
        (("--template", "Hi", "--channel", "fax"), "argument --channel: invalid choice"),
        (("--template-file", "/nonexistent/t.txt"), "nusaworker: --template-file: cannot read"),
        (("--template", "Hi", "--template-file", "t.txt"), "not allowed with argument"),
    ],
)  # fmt: skip
def test_cli_campaign_bad_input_exits_2_with_one_line(
    env: dict[str, str], workdir: Path, prefix: str, args: tuple[str, ...], message: str
) -> None:
    path = write_csv(workdir / "bad.csv", people(3, 74000000))
    done = cli(env, "run", str(path), *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    if message.startswith("nusaworker:"):
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_cli_campaign_unreadable_input_exits_2(env: dict[str, str], workdir: Path) -> None:
    missing = cli(env, "run", str(workdir / "absent.csv"), "--template", "Hi")
    assert missing.returncode == 2 and "no such file" in missing.stderr
    headless = workdir / "columns.csv"
    headless.write_text("name,city\nAni,Bandung\n", encoding="utf-8")
    no_column = cli(env, "run", str(headless), "--template", "Hi")
    assert no_column.returncode == 2
    assert "no destination column" in no_column.stderr
    assert len(no_column.stderr.strip().splitlines()) == 1


def test_cli_campaign_preflight_refuses_a_short_balance_and_force_starts_it(
    env: dict[str, str], fleet: Fleet, box: Sandbox, workdir: Path
) -> None:
    path = write_csv(workdir / "short.csv", people(60, 75000000))
    box.set_balance(wa=10)
    try:
        refused = cli(env, "run", str(path), "--template", "Hi {name}")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "balance too low: wa needs 60, has 10" in refused.stderr
        assert "--force to start it anyway" in refused.stderr
        assert "Traceback" not in refused.stderr
        cid = re.search(r"campaign (\w+) refused", refused.stderr)
        assert cid is not None
        shown = json.loads(cli(env, "status", cid.group(1), "--json").stdout)
        assert shown["state"] == "cancelled" and "wa needs 60" in shown["reason"]
        assert shown["dispatched"] == 0

        # Forced, and scheduled an hour ahead so that the short wallet is never spent here.
        later = str(time.time() + 3600)
        forced = cli(env, "run", str(path), "--template", "Hi {name}", "--force",
                     "--start-at", later)  # fmt: skip
        assert forced.returncode == 0, forced.stderr
        fid = campaign_id(forced.stdout)
        assert f'campaign {fid} "short" on wa: scheduled: starts ' in forced.stdout
        assert cli(env, "cancel", fid).returncode == 0
    finally:
        box.set_balance(wa=1_000_000)


def test_cli_campaign_preflight_says_when_a_balance_cannot_be_read(
    env: dict[str, str], fleet: Fleet, workdir: Path
) -> None:
    path = write_csv(workdir / "unknown.csv", people(5, 76000000))
    # A key the provider refuses: the balance call fails, and no watch has read this account.
    wrong = {**env, "NUSAWORKER_NUSASMS_API_KEY": "a-key-the-provider-refuses"}
    refused = cli(wrong, "run", str(path), "--template", "Hi {name}")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "wa needs 5, has unknown" in refused.stderr
    assert "could not be read, live or from the balance watch" in refused.stderr
    assert "a-key-the-provider-refuses" not in refused.stdout + refused.stderr


def test_cli_campaign_outside_its_window_waits_and_says_so(
    env: dict[str, str], fleet: Fleet, workdir: Path
) -> None:
    path = write_csv(workdir / "window.csv", people(5, 77000000))
    # A one-hour window that opened two hours ago (UTC): closed now, whatever the time.
    hour = (time.gmtime().tm_hour - 2) % 24
    window = f"{hour:02d}:00-{(hour + 1) % 24:02d}:00 UTC"
    started = cli(env, "run", str(path), "--template", "Hi {name}", "--window", window)
    assert started.returncode == 0, started.stderr
    cid = campaign_id(started.stdout)

    def status() -> dict[str, object]:
        return dict(json.loads(cli(env, "status", cid, "--json").stdout))

    assert wait_for(lambda: status()["state"] == "waiting", 20), status()
    assert status()["dispatched"] == 0
    shown = cli(env, "status", cid)
    assert f"on wa: waiting for its window ({window})" in shown.stdout.splitlines()[0]
    assert cli(env, "cancel", cid).returncode == 0


def test_cli_campaign_bad_window_names_the_option(env: dict[str, str], workdir: Path) -> None:
    path = write_csv(workdir / "badwindow.csv", people(3, 78000000))
    done = cli(env, "run", str(path), "--template", "Hi", "--window", "8-20 Mars/Olympus")
    assert done.returncode == 2
    assert done.stderr.startswith("nusaworker: invalid campaign: --window: ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_cli_campaign_schedule_lists_and_unschedules_a_recurring_campaign(
    env: dict[str, str],
) -> None:
    made = cli(
        env, "schedule", "weekday-promo", "--cron", "0 9 * * mon-fri",
        "--tz", "Asia/Jakarta", "--recipients", "nusaworker.testing.recipients:five",
        "--channel", "auto", "--template", "Hi {name}", "--window", "08:00-20:00 Asia/Jakarta",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("scheduled weekday-promo: 0 9 * * mon-fri (Asia/Jakarta)")
    again = cli(
        env, "schedule", "weekday-promo", "--cron", "0 9 * * *",
        "--recipients", "nusaworker.testing.recipients:five", "--template", "Hi",
    )  # fmt: skip
    assert again.returncode == 1 and "exists" in again.stderr
    bad = cli(
        env, "schedule", "x", "--cron", "0 99 * * *",
        "--recipients", "a.b:c", "--template", "Hi",
    )  # fmt: skip
    assert bad.returncode == 2 and "cron" in bad.stderr and "Traceback" not in bad.stderr

    listed = cli(env, "schedules", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)
    assert entry["name"] == "weekday-promo" and entry["last_run"] is None
    assert entry["next_run"] > time.time()

    assert cli(env, "unschedule", "weekday-promo").returncode == 0
    assert cli(env, "unschedule", "weekday-promo").returncode == 1
    assert json.loads(cli(env, "schedules", "--json").stdout) == []
