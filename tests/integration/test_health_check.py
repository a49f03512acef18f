"""`nusaworker check` against a real fleet: a real otp worker, a real beat, a real Redis.

One fleet is taken through each way of being unwell in turn; the thresholds are given on the
command line (small ones, so that a silent beat shows in seconds), the code is not patched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from nusaworker import cli
from nusaworker.connections import redis_client
from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord
from nusaworker.testing.fleet import BeatProcess, Fleet, fleet_env
from nusaworker.testing.redis_server import delete_prefix
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

# The heartbeat TTL is 8 s (default): a killed worker is gone from the heartbeats within it.
GONE_WITHIN_S = 20


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    value = f"nwtest:health:{uuid.uuid4().hex[:8]}:"
    yield value
    delete_prefix(redis_url, value)


@pytest.fixture
def env(
    redis_url: str, prefix: str, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    values = fleet_env(redis_url=redis_url, key_prefix=prefix, base_url=sandbox.url)
    for name, value in values.items():
        monkeypatch.setenv(name, value)  # for the in-process `cli.main` calls
    return values


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """``nusaworker check`` in this process (the same code the console script runs)."""
    capsys.readouterr()
    status = cli.main(["check", *args])
    out = capsys.readouterr().out.strip()
    assert "\n" not in out, out  # one line, JSON included
    return status, out


def test_check_names_each_way_the_fleet_is_unwell(
    env: dict[str, str], redis_url: str, prefix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with Fleet(env) as fleet:
        fleet.start("otp", "otp", concurrency=2)
        beat = BeatProcess.start(env, fleet.logdir)
        try:
            assert beat.wait_active()

            # Well: a consumer on otp, beat ticking, no breaker open, nothing waiting.
            assert wait_for(lambda: _check(capsys)[0] == 0, timeout=15)
            status, line = _check(capsys)
            assert (status, line.split(":")[0]) == (0, "ok")
            assert _check(capsys, "--role", "beat")[0] == 0
            assert _check(capsys, "--role", "worker")[0] == 0  # a worker of this host
            assert (
                _check(capsys, "--role", "worker", "--node", f"otp@{socket.gethostname()}")[0] == 0
            )
            assert _check(capsys, "--role", "worker", "--node", "bulk@nowhere")[0] == 1

            # A breaker open (paused by hand, as an operator does) is named.
            assert cli.main(["pause", "wa"]) == 0
            status, line = _check(capsys)
            assert (status, line) == (1, "breaker open: nusasms/wa (manual)")
            assert cli.main(["resume", "wa"]) == 0
            assert _check(capsys)[0] == 0

            # An accepted message waiting too long is named (created 1,000 s ago, no task).
            client = redis_client(redis_url, "edge")
            keys = Keys(prefix=prefix)
            old = Ledger(client, keys=keys, clock=lambda: time.time() - 1000)
            message_id, _ = old.create(MessageRecord(channel="sms", destination="628120001"))
            status, line = _check(capsys, "--max-age-accepted", "600")
            assert status == 1
            assert line.startswith(f"oldest accepted message {message_id} waits 1")
            assert _check(capsys, "--max-age-accepted", "1200")[0] == 0
            client.zrem(keys.accepted_index, message_id)
            client.close()

            # Beat stopped: silent once its heartbeat is older than the threshold given.
            beat.stop()
            status, line = _check(capsys, "--max-beat-silence", "60")
            assert status == 0  # silent for less than 60 s
            assert wait_for(
                lambda: _check(capsys, "--max-beat-silence", "2")[1].startswith("beat silent"),
                timeout=15,
            )
            assert _check(capsys, "--role", "beat", "--max-beat-silence", "2")[0] == 1
        finally:
            beat.stop()

        # The otp worker killed: no consumer on otp once its heartbeat expires.
        fleet.workers[0].kill()
        assert wait_for(
            lambda: _check(capsys)[1].startswith("no consumer on otp"), timeout=GONE_WITHIN_S
        )
        assert _check(capsys, "--role", "worker")[0] == 1
        status, out = _check(capsys, "--json")
        assert status == 1 and '"check": "consumer"' in out


def test_check_says_redis_unreachable_without_its_password(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NUSAWORKER_REDIS_URL", f"redis://:hunter2secret@127.0.0.1:{port}/0")

    status, line = _check(capsys)

    assert status == 1
    assert line.startswith("Redis unreachable at redis://:***@127.0.0.1:")
    assert "hunter2secret" not in line


def test_check_command_exit_statuses(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The console script itself: 1 with one line when unwell (no worker here); 2 on bad usage."""
    unwell = subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", "check"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (unwell.returncode, unwell.stdout.count("\n")) == (1, 1)
    assert unwell.stdout.startswith("no consumer on otp")
    assert _check(capsys, "--max-age-accepted", "0")[0] == 2
    with pytest.raises(SystemExit) as usage:
        cli.main(["check", "--role", "nobody"])
    assert usage.value.code == 2
