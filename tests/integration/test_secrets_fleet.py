"""The whole fleet with recognisable secrets, and every surface searched for them: 0 found.

One run (the module fixture ``run``): a private ``redis-server`` with ``requirepass``; the
producer (this process); a real ``celery -A nusaworker worker -l debug`` with the credit
metrics served; a real ``celery beat -l debug``; the callback receiver (this process) that the
sandbox pushes every status to; the webhook and a backend hook task; alerts to the log, a
signed webhook and an SMTP server that wants a login. Messages of every kind (WhatsApp, SMS,
OTP, a phone check) go through; the balance watch runs (``/api/command?user=…&password=…``, the
one API whose login rides in a URL) and alerts. Then the CLI, ``celery report``, bad
configurations and the metrics endpoint are exercised.

Every surface is one row of ``SURFACES`` (a name and what to read); a later surface (a status
page, more metrics) is one more row. Each surface is searched for every secret in every form
(:mod:`nusaworker.testing.leaks`: raw, percent-encoded, base64, and inside decoded base64).
API keys do travel to the provider (the sandbox) — that is their purpose, not a leak; the
sandbox's own logs are not a product surface and are not searched.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import traceback
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from nusaworker.credit.schedule import WATCH_TASK
from nusaworker.factories import broker_app, provider_client
from nusaworker.ledger.leases import Leases
from nusaworker.producer import Producer
from nusaworker.sandbox import Sandbox
from nusaworker.settings import Settings
from nusaworker.testing.fleet import REPO_ROOT, BeatProcess, Fleet, fleet_env
from nusaworker.testing.leaks import Scan, redis_dump
from nusaworker.testing.receiver import Receiver
from nusaworker.testing.redis_server import SecuredRedis, free_port, secured_redis
from nusaworker.testing.waiting import wait_for
from nusaworker.tracking.receiver import CallbackServer
from nusaworker.tracking.wsgi import create_app

pytestmark = pytest.mark.integration

# Recognisable, unique, and with characters that change when URL-encoded.
SECRETS = {
    "nusasms_api_key": "nwsecret-apikey-Q7x+Za",
    "nusasms_sms_password": "nwsecret-smspw-K3/r=",
    "callback_token": "nwsecret-cbtoken-W9mZ2pQ4",
    "status_token": "nwsecret-statustoken-T5y/k",
    "webhook_secret": "nwsecret-webhook-H5t&s",
    "alert_webhook_secret": "nwsecret-alerthook-J8v",
    "alert_smtp_password": "nwsecret-smtppw-L2n%q",
    "redis_password": "nwsecret-redispw-M6b@c",
    # Wrong values given on purpose (the bad-configuration surface): they must not come back
    # in an error either.
    "wrong_api_key": "nwsecret-wrongkey-N4d",
    "wrong_sms_password": "nwsecret-wrongsmspw-P1f",
    "wrong_redis_password": "nwsecret-wrongredispw-R3g",
}
SMS_USER = "fleetsmsuser"
SMTP_USER = "alerts@example.org"
HOOK_TASK = "backend.tasks.on_message_event"
HOOK_QUEUE = "backendhooks"  # no worker consumes it: its messages stay in Redis to be read
# Loggers of this process that are not the product: the sandbox (the provider's side), the
# test's own receivers, and the SMTP server (it logs the logins it is sent).
NOT_PRODUCT = ("nusaworker.sandbox", "nusaworker.testing", "mail.log", "asyncio")


@dataclass
class Run:
    """Everything the fleet produced, gathered once for the surfaces to read."""

    redis: SecuredRedis
    texts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, surface: str, where: str, text: str) -> None:
        self.texts.setdefault(surface, []).append((where, text))


class _Records(logging.Handler):
    """Every log record of this process at DEBUG, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(threadName)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(NOT_PRODUCT):
            self.lines.append(self.format(record))


class _Mailbox:
    def __init__(self) -> None:
        self.mails: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mails.append(envelope.content)
        return "250 OK"


def _smtp_login(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = (
        isinstance(data, LoginPassword)
        and data.password.decode() == SECRETS["alert_smtp_password"]
        and data.login.decode() == SMTP_USER
    )
    return AuthResult(success=ok)


# Several `nusaworker` commands in one process (one interpreter start, not one per command:
# the box is shared), each through the console script's entry point with its own environment
# changes, its output under a "$ <surface> | <command>" line. A command that reads no settings
# of its own (status, send, dead-letters) uses the process's producer, built by the first one.
_CLI_DRIVER = """
import json, os, sys, traceback
from nusaworker.cli import main
for surface, changes, argv in json.loads(sys.argv[1]):
    os.environ.update(changes)
    print("$ " + surface + " | nusaworker " + " ".join(argv), flush=True)
    try:
        code = main(argv)
    except Exception:
        traceback.print_exc(file=sys.stdout)  # what the interpreter prints for an uncaught one
        code = 1
    print(f"[exit {code}]", flush=True)
"""


def _cli(env: dict[str, str], commands: list[tuple[str, dict[str, str], list[str]]]) -> Any:
    return subprocess.Popen(
        [sys.executable, "-c", _CLI_DRIVER, json.dumps(commands)],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _celery(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "nusaworker", *args],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _error_text(call: Callable[[], object]) -> str:
    """What an error of ``call`` shows: its message, repr and whole traceback."""
    try:
        call()
    except Exception as exc:
        return f"{exc}\n{exc!r}\n" + "".join(traceback.format_exception(exc))
    raise AssertionError("expected an error")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    records = _Records()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        with secured_redis(SECRETS["redis_password"], tls=False) as server:
            found = Run(server)
            _run_fleet(found, tmp_path_factory.mktemp("fleet"))
            found.add(
                "logs: producer and callback receiver (this process, DEBUG)",
                "records",
                "\n".join(records.lines),
            )
            found.facts["log records"] = len(records.lines)
            yield found
    finally:
        root.removeHandler(records)
        root.setLevel(old_level)


def _run_fleet(run: Run, logdir: Path) -> None:
    prefix = f"nwtest:secrets:{uuid.uuid4().hex[:8]}:"
    url = run.redis.url
    admin = redis.Redis.from_url(url)
    mailbox = _Mailbox()
    smtp = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=_smtp_login,
        auth_require_tls=False,
    )
    smtp.start()
    metrics_port = free_port()
    with (
        Sandbox(
            api_key=SECRETS["nusasms_api_key"],
            sms_user=SMS_USER,
            sms_password=SECRETS["nusasms_sms_password"],
            status_step_s=0.2,
            fail_rate=0.0,
            seed=13,
        ) as box,
        Receiver() as webhook,
        Receiver() as alert_hook,
    ):
        settings = Settings(
            redis_url=url,
            key_prefix=prefix,
            nusasms_base_url=box.url,
            callback_token=SECRETS["callback_token"],
            status_token=SECRETS["status_token"],
        )
        receiver = CallbackServer(create_app(settings)).start()
        token_url = f"{receiver.url}/{SECRETS['callback_token']}"
        box.set_callback_url(token_url)
        env = fleet_env(
            redis_url=url,
            key_prefix=prefix,
            base_url=box.url,
            api_key=SECRETS["nusasms_api_key"],
            sms_user=SMS_USER,
            sms_password=SECRETS["nusasms_sms_password"],
            callback_token=SECRETS["callback_token"],
            status_token=SECRETS["status_token"],
            phone_check_callback_url=f"{token_url}/wa/phone_check",
            phone_check_linger_s="0",
            hook_task=HOOK_TASK,
            hook_queue=HOOK_QUEUE,
            webhook_url=f"{webhook.url}/events",
            webhook_secret=SECRETS["webhook_secret"],
            alert_sinks="log,webhook,smtp",
            alert_webhook_url=f"{alert_hook.url}/alerts",
            alert_webhook_secret=SECRETS["alert_webhook_secret"],
            alert_smtp_host="127.0.0.1",
            alert_smtp_port=str(smtp.port),
            alert_smtp_from="fleet@example.org",
            alert_smtp_to="ops@example.org",
            alert_smtp_user=SMTP_USER,
            alert_smtp_password=SECRETS["alert_smtp_password"],
            # Above the sandbox's balances: the watch alerts on every sink.
            balance_thresholds=json.dumps({"wa": 5e6, "sms_credits": 5e6}),
            metrics_port=str(metrics_port),
        )
        producer = Producer.from_settings(settings)
        _reprs(run, env)
        t0 = time.monotonic()
        clock = run.facts.setdefault("seconds", {})

        # 1. The producer's work, read off the broker before any worker consumes it.
        ids = [
            producer.send_whatsapp("6281234567801", "secrets test: a WhatsApp"),
            producer.send_whatsapp("6281234567802", "secrets test: another", priority="bulk"),
            producer.send_sms("6281234567803", "secrets test: an SMS"),
            producer.send_sms("6281234567804", "secrets test: 123456", otp=True),
        ]
        check = producer.check_whatsapp_numbers(["6281234567805", "6281234567806"])
        for key, text in redis_dump(admin, f"{prefix}*"):
            if admin.type(key) == b"list":
                run.add("broker: task messages before any worker", key, text)

        # 2. The fleet: a worker (every product queue) and beat, both at DEBUG.
        with Fleet(env, logdir=logdir) as fleet:
            worker = fleet.start(
                "secrets",
                "otp,wa,wa_official,sms,check,status,housekeeping",
                concurrency=4,
                extra_args=("-l", "debug"),
            )
            clock["worker ready"] = round(time.monotonic() - t0, 1)
            beat = BeatProcess.spawn("beat", ["beat", "-l", "debug"], env, logdir, cwd=logdir)
            try:
                producer.app.send_task(WATCH_TASK, kwargs={"force": True})
                # `nusaworker check` judges beat too: its first heartbeat comes before the
                # commands (a loaded box starts beat later than the CLI's first commands).
                leases = Leases(producer.ledger.redis, keys=producer.ledger.keys)
                assert wait_for(lambda: leases.beat_silence() is not None, 90), "beat silent"
                started = _commands(env, url, ids, receiver.port)

                def done() -> bool:
                    states = {str(producer.get_message(i).state) for i in ids}
                    return (
                        states <= {"delivered", "read", "sent"}
                        and "read" in states
                        and bool(webhook.requests)
                        and bool(alert_hook.requests)
                        and bool(mailbox.mails)
                        and bool(admin.llen(f"{prefix}{HOOK_QUEUE}"))
                    )

                assert wait_for(done, 40), _progress(producer, ids, webhook, alert_hook, mailbox)
                clock["fleet done"] = round(time.monotonic() - t0, 1)
                _outputs(run, started, url, metrics_port, receiver.url)
                clock["outputs read"] = round(time.monotonic() - t0, 1)
                run.facts["check"] = check
                run.facts["states"] = sorted(str(producer.get_message(i).state) for i in ids)
                for message_id in ids:
                    run.add(
                        "results: ledger records",
                        message_id,
                        producer.get_message(message_id).model_dump_json(),
                    )
            finally:
                beat.stop()
                fleet.stop()
            clock["fleet stopped"] = round(time.monotonic() - t0, 1)
            run.add("logs: worker (DEBUG)", "worker", worker.log())
            run.add("logs: beat (DEBUG)", "beat", beat.log())
        receiver.stop()
        smtp.stop()
        for request in webhook.requests:
            run.add("webhook posts", request.path, f"{request.headers}\n{request.body.decode()}")
        for request in alert_hook.requests:
            run.add(
                "alert webhook posts", request.path, f"{request.headers}\n{request.body.decode()}"
            )
        for mail in mailbox.mails:
            run.add("alert e-mails", "smtp", mail.decode(errors="replace"))
        run.facts["sandbox hits"] = len(box.hits())
        run.facts["command hits"] = len([h for h in box.hits() if "command" in h["path"]])
    for key, text in redis_dump(admin):
        run.add("redis: every key and value", key, text)
    admin.close()


def _progress(producer: Producer, ids: list[str], *receivers: Any) -> str:
    states = [str(producer.get_message(i).state) for i in ids]
    return f"states {states}, receivers {[len(getattr(r, 'requests', [])) for r in receivers]}"


def _reprs(run: Run, env: dict[str, str]) -> None:
    """How the fleet's configuration and objects show themselves (a log line, a traceback's
    locals, a debugger): the settings read from the fleet's environment, its accounts, a
    provider client, a producer, the Celery app's configuration."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        full = Settings()
    client = provider_client(full)
    producer = Producer.from_settings(full)
    shown = {
        "settings": f"{full!r}\n{full}\n{full.model_dump()}\n{full.model_dump_json()}",
        "accounts": repr(full.all_accounts()),
        "provider client": repr(client),
        "producer": f"{producer!r} {producer.app!r} {producer.ledger.redis!r}",
        "celery conf": repr(dict(producer.app.conf)),
    }
    client.close()
    for where, text in shown.items():
        run.add("reprs", where, text)


def _wrong_redis(url: str) -> str:
    right = quote(SECRETS["redis_password"], safe="")
    return url.replace(right, quote(SECRETS["wrong_redis_password"], safe=""))


def _commands(
    env: dict[str, str], url: str, ids: list[str], receiver_port: int
) -> list[tuple[str, Any]]:
    """Start the CLI's commands and `celery report` (they run while the fleet works: most of
    their time is the interpreter's start, on a shared box)."""
    wrong_keys = {
        "NUSAWORKER_NUSASMS_API_KEY": SECRETS["wrong_api_key"],
        "NUSAWORKER_NUSASMS_SMS_PASSWORD": SECRETS["wrong_sms_password"],
    }
    cli = "nusaworker CLI"
    bad = "errors: bad configuration"
    commands = [
        (cli, {}, ["status", ids[0]]),
        (cli, {}, ["send", "sms", "6281234567809", "secrets test: from the CLI"]),
        (cli, {}, ["balance", "--json"]),
        (cli, {}, ["routes"]),
        (cli, {}, ["dead-letters"]),
        (cli, {"NUSAWORKER_CALLBACK_PORT": str(receiver_port)}, ["check"]),
        (bad, wrong_keys, ["balance"]),
        (bad, {"NUSAWORKER_REDIS_URL": _wrong_redis(url)}, ["suppress", "check", "6281234567890"]),
        (bad, {}, ["check"]),  # the wrong Redis password is still in force
    ]
    return [("nusaworker CLI", _cli(env, commands)), ("celery report", _celery(env, "report"))]


def _outputs(
    run: Run, started: list[tuple[str, Any]], url: str, metrics_port: int, receiver_url: str
) -> None:
    """The commands' output, bad configurations, the metrics endpoint and the status page."""
    wrong_redis = _wrong_redis(url)
    bad_settings = Settings(redis_url=wrong_redis, key_prefix="nwtest:secrets:wrong:")
    run.add(
        "errors: bad configuration",
        "producer, wrong Redis password",
        _error_text(
            lambda: Producer.from_settings(bad_settings).send_whatsapp("6281234567807", "x")
        ),
    )
    run.add(
        "errors: bad configuration",
        "broker (kombu), wrong Redis password",
        _error_text(lambda: broker_app(bad_settings).send_task(WATCH_TASK)),
    )
    for name, value in SECRETS.items():
        run.add(
            "errors: bad configuration",
            f"settings, {name} in a number",
            _error_text(lambda value=value: Settings(min_interval_ms=value, redis_url=value)),
        )
    try:
        urllib.request.urlopen(f"{receiver_url}/{SECRETS['wrong_api_key']}/wa/status", b"{}")
    except urllib.error.HTTPError as refused:
        run.add("errors: bad configuration", "receiver, wrong token", refused.read().decode())
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as page:
        metrics = page.read().decode()
    run.add("metrics endpoint", "/metrics", metrics)
    # The status page, both ways a token is accepted (a browser's query string, a header).
    token = SECRETS["status_token"]
    for path in ("/status", "/status.json"):
        for request in (
            urllib.request.Request(f"{receiver_url}{path}?token={quote(token, safe='')}"),
            urllib.request.Request(
                f"{receiver_url}{path}", headers={"Authorization": f"Bearer {token}"}
            ),
        ):
            with urllib.request.urlopen(request, timeout=30) as page:
                run.add("status page", path, f"{page.headers}\n{page.read().decode()}")
    run.facts["metrics lines"] = metrics.count("\n")
    exits = run.facts.setdefault("exits", {})
    exits = run.facts.setdefault("exits", {})
    for surface, proc in started:
        out, _ = proc.communicate(timeout=120)
        if not out.startswith("$ "):  # one command: celery report
            run.add(surface, "celery report", out)
            exits[surface] = str(proc.returncode)
            continue
        for part in out.split("$ ")[1:]:
            head, _, text = part.partition("\n")
            surface, _, where = head.partition(" | ")
            run.add(surface, where, part)
            exits[f"{surface}: {where}"] = text.rsplit("[exit ", 1)[-1].split("]")[0]


# The table: each surface and how many texts it must have yielded at least (a surface that
# yielded nothing proves nothing). A later surface — a /status page, more /metrics — is a row.
SURFACES: dict[str, int] = {
    "logs: worker (DEBUG)": 1,
    "logs: beat (DEBUG)": 1,
    "logs: producer and callback receiver (this process, DEBUG)": 1,
    "broker: task messages before any worker": 2,
    "redis: every key and value": 20,
    "results: ledger records": 4,
    "webhook posts": 1,
    "alert webhook posts": 1,
    "alert e-mails": 1,
    "reprs": 5,
    "metrics endpoint": 1,
    "status page": 4,
    "nusaworker CLI": 5,
    "celery report": 1,
    "errors: bad configuration": 5,
}


@pytest.fixture(scope="module")
def scan(run: Run) -> Scan:
    found = Scan(SECRETS)
    for surface, texts in run.texts.items():
        for where, text in texts:
            found.add(surface, where, text)
    return found


@pytest.mark.parametrize("surface", SURFACES)
def test_secrets_fleet_surface_holds_no_secret(run: Run, scan: Scan, surface: str) -> None:
    assert len(run.texts.get(surface, [])) >= SURFACES[surface], f"{surface}: too little read"
    leaks = scan.of(surface)
    assert not leaks, "\n".join(
        f"{leak.secret} ({leak.form}) in {leak.where}: …{leak.excerpt}…" for leak in leaks[:20]
    )


def test_secrets_fleet_exercised_every_secret(run: Run, scan: Scan) -> None:
    """The search means something only if the secrets were used: the fleet sent, polled and
    pushed, the command API (login in its URL) was hit, alerts went out on every sink."""
    assert set(SURFACES) == set(run.texts), "a surface was read that is not in the table"
    assert run.facts["states"] and run.facts["command hits"] >= 1
    exits = run.facts["exits"]
    assert len(exits) == 10, exits
    bad = {where: code for where, code in exits.items() if where.startswith("errors")}
    assert len(bad) == 3 and "0" not in bad.values(), bad
    outputs = {
        f"{surface}: {where}": text for surface, got in run.texts.items() for where, text in got
    }
    failed = {
        w: outputs.get(w, outputs.get(f"{w}: {w}", ""))
        for w, code in exits.items()
        if w not in bad and code != "0"
    }
    assert not failed, failed  # each failing command with what it printed
    assert run.facts["metrics lines"] > 10
    figures = {
        "surfaces": len(scan.items),
        "texts": sum(scan.items.values()),
        "bytes": sum(scan.bytes.values()),
        "lines": sum(scan.lines.values()),
        "redis keys": scan.items["redis: every key and value"],
        "log lines": sum(v for k, v in scan.lines.items() if k.startswith("logs:")),
        "leaks": len(scan.leaks),
    }
    print(f"\nsecrets fleet: {figures} facts {run.facts}")
    dump = os.environ.get("NUSAWORKER_SECRETS_DUMP")
    if dump:  # to read what was searched: NUSAWORKER_SECRETS_DUMP=/tmp/surfaces.txt
        with open(dump, "w") as out:
            for surface, texts in run.texts.items():
                for where, text in texts:
                    out.write(f"===== {surface} | {where}\n{text}\n")
