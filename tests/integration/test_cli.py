"""The ``nusaworker`` command as a user runs it: a real process, a real Redis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import redis

pytestmark = pytest.mark.integration


def cli(redis_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUSAWORKER_REDIS_URL": redis_url, "NUSAWORKER_KEY_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_cli_send_refuses_bad_input_naming_the_field_and_writes_nothing(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    done = cli(redis_url, key_prefix, "send", "wa", "12ab", "hello")
    assert done.returncode == 2
    assert "destination" in done.stderr
    assert list(redis_client.scan_iter(match=key_prefix + "*")) == []


def test_cli_send_then_status_shows_the_accepted_record(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    sent = cli(redis_url, key_prefix, "send", "wa", "6281234567890", "hello", "--priority", "bulk")
    assert sent.returncode == 0, sent.stderr
    message_id = sent.stdout.strip()

    shown = cli(redis_url, key_prefix, "status", message_id)
    record = json.loads(shown.stdout)
    assert record["id"] == message_id
    assert (record["state"], record["channel"], record["priority"]) == ("accepted", "wa", "bulk")
    assert record["payload"]["destination"] == "6281234567890"
    assert record["payload"]["message"] == "hello"
    assert "token" not in shown.stdout.lower() or record.get("token") is None


def test_cli_send_sms_otp_goes_onto_the_otp_queue(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    sent = cli(redis_url, key_prefix, "send", "sms", "6281234567890", "code 1234", "--otp")
    assert sent.returncode == 0, sent.stderr
    queued = {k: redis_client.llen(k) for k in redis_client.scan_iter(match=key_prefix + "otp*")}
    assert sum(queued.values()) == 1
    assert redis_client.llen(key_prefix + "sms") == 0


@pytest.mark.parametrize(
    ("args", "channel", "fields"),
    [
        (("sms_group", "Example", "hello all"), "sms_group", {"group": "Example"}),
        (("check", "6281234567890,6281234567891"), "check",
         {"phone_numbers": ["6281234567890", "6281234567891"]}),
        (("wa_media", "6281234567890", "--field", "media_url=https://e.x/a.png"), "wa_media",
         {"media_url": "https://e.x/a.png"}),
    ],
)  # fmt: skip
def test_cli_send_takes_any_channel_of_the_table(
    redis_url: str,
    key_prefix: str,
    args: tuple[str, ...],
    channel: str,
    fields: dict[str, object],
) -> None:
    sent = cli(redis_url, key_prefix, "send", *args)
    assert sent.returncode == 0, sent.stderr
    record = json.loads(cli(redis_url, key_prefix, "status", sent.stdout.strip()).stdout)
    assert record["channel"] == channel
    assert fields.items() <= record["payload"].items()


def test_cli_send_refuses_an_unknown_channel_and_text_for_a_channel_without_one(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    unknown = cli(redis_url, key_prefix, "send", "fax", "6281234567890", "hi")
    textless = cli(redis_url, key_prefix, "send", "check", "6281234567890", "hi")
    assert (unknown.returncode, textless.returncode) == (2, 2)
    assert "invalid choice: 'fax'" in unknown.stderr
    assert "takes no text" in textless.stderr
    assert list(redis_client.scan_iter(match=key_prefix + "*")) == []


def test_cli_send_gives_otps_their_default_validity_and_others_the_one_asked(
    redis_url: str, key_prefix: str
) -> None:
    otp = cli(redis_url, key_prefix, "send", "sms", "6281234567890", "code 1234", "--otp")
    wa = cli(redis_url, key_prefix, "send", "wa", "6281234567890", "hi", "--validity", "60")
    plain = cli(redis_url, key_prefix, "send", "wa", "6281234567890", "hi")
    assert otp.returncode == wa.returncode == plain.returncode == 0, otp.stderr + wa.stderr

    def shown(sent: subprocess.CompletedProcess[str]) -> dict[str, float | None]:
        record = json.loads(cli(redis_url, key_prefix, "status", sent.stdout.strip()).stdout)
        return {"validity_s": record["validity_s"], "left": record["expires_at"] and (
            record["expires_at"] - record["created_at"])}  # fmt: skip

    assert shown(otp) == {"validity_s": 300.0, "left": pytest.approx(300.0)}
    assert shown(wa) == {"validity_s": 60.0, "left": pytest.approx(60.0)}
    assert shown(plain) == {"validity_s": None, "left": None}


def test_cli_status_of_an_unknown_id_fails_clearly(redis_url: str, key_prefix: str) -> None:
    done = cli(redis_url, key_prefix, "status", "nope")
    assert done.returncode == 1
    assert "RecordNotFound" in done.stderr


def test_cli_demo_takes_every_message_to_a_final_state_within_the_rule(
    redis_url: str, redis_client: redis.Redis
) -> None:
    env = {**os.environ, "NUSAWORKER_REDIS_URL": redis_url}
    done = subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", "demo", "--messages", "40", "--otps", "3"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "demo OK" in done.stdout
    # No tolerance: the causal gate hands a turn out only after the previous hit was written,
    # so no scheduler outlier can bring two hits closer than the rule.
    [violations] = re.findall(r"rule violations\s+(\d+)", done.stdout)
    assert int(violations) == 0, done.stdout
    # The demo deletes the keys it made.
    assert list(redis_client.scan_iter(match="nwdemo:*", count=1000)) == []


ACCOUNTS_ENV = {
    "NUSAWORKER_NUSASMS_SMS_USER": "cli-user",
    "NUSAWORKER_NUSASMS_SMS_PASSWORD": "cli-main-password",
    "NUSAWORKER_ACCOUNTS": json.dumps(
        [
            {
                "name": "backup",
                "credentials": {
                    "sms_user": "cli-backup",
                    "sms_password": "cli-backup-secret-key",
                },
            }
        ]
    ),
    "NUSAWORKER_ROUTES": json.dumps({"sms": ["nusasms", "backup"]}),
}


def test_cli_pause_an_account_and_routes_show_traffic_moving(
    redis_url: str, key_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ACCOUNTS_ENV.items():
        monkeypatch.setenv(name, value)

    paused = cli(redis_url, key_prefix, "pause", "sms", "--account", "nusasms")
    shown = cli(redis_url, key_prefix, "routes", "--json")
    table = cli(redis_url, key_prefix, "routes")
    resumed = cli(redis_url, key_prefix, "resume", "sms", "--account", "nusasms")
    after = cli(redis_url, key_prefix, "routes", "--json")
    unknown = cli(redis_url, key_prefix, "pause", "sms", "--account", "nope")

    assert paused.returncode == 0 and "sms: paused" in paused.stdout
    sms = {r["route"]: r for r in json.loads(shown.stdout)["routes"]}["sms"]
    assert (sms["now"], sms["paused"]) == ("backup", {"nusasms": "manual"})
    assert "now → backup" in table.stdout
    assert resumed.returncode == 0
    assert {r["route"]: r for r in json.loads(after.stdout)["routes"]}["sms"]["now"] == "nusasms"
    assert unknown.returncode == 1 and "'nope' is not declared" in unknown.stderr
    for done in (paused, shown, table, resumed, after, unknown):
        assert "cli-backup-secret-key" not in done.stdout + done.stderr
        assert "cli-main-password" not in done.stdout + done.stderr


def test_cli_celery_report_prints_no_secret(key_prefix: str) -> None:
    """``celery -A nusaworker report`` as an operator runs it: no password of the Redis URL, no
    provider credential of any account, anywhere in what it prints."""
    secrets = ("redis-pw-7731", "acct-key-5521", "carrier-pw-9911", "nusa-key-3141")
    env = {
        **os.environ,
        "NUSAWORKER_REDIS_URL": f"redis://:{secrets[0]}@127.0.0.1:6379/13",
        "NUSAWORKER_KEY_PREFIX": key_prefix,
        "NUSAWORKER_NUSASMS_API_KEY": secrets[3],
        "NUSAWORKER_ACCOUNTS": json.dumps(
            [
                {"name": "backup", "credentials": {"api_key": secrets[1]}},
                {
                    "name": "carrier",
                    "provider": "smartswitch",
                    "base_url": "http://127.0.0.1:9",
                    "credentials": {"login": "carrier-login", "password": secrets[2]},
                },
            ]
        ),
    }
    done = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "nusaworker", "report"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr[-2000:]
    assert "redbeat_redis_url" in done.stdout  # the setting is there, masked
    for secret in secrets:
        assert secret not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("status", "01a23cd33041227876d8990120"),
        ("send", "wa", "6281234567890", "hello"),
        ("dead-letters",),
        ("suppress", "check", "6281234567890"),
    ],
)
def test_cli_redis_unreachable_is_one_line_and_exit_1(key_prefix: str, args: tuple[str]) -> None:
    """An operator whose Redis is down (or refuses the password) reads one line saying so, not
    a traceback; the URL's password is not in it."""
    from nusaworker.testing.redis_server import free_port

    dead = f"redis://:hunter2-cli-pw@127.0.0.1:{free_port()}/0"
    done = cli(dead, key_prefix, *args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nusaworker: Redis: "), done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr + done.stdout
