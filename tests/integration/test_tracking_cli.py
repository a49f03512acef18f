"""`nusaworker callbacks`: the receiver as an operator starts it, as a real process."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import redis
import requests

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageState
from nusaworker.testing.records import sent_record

pytestmark = pytest.mark.integration

TOKEN = "cli-callback-token-0123456789"


@pytest.fixture
def receiver_url(redis_url: str, key_prefix: str) -> Iterator[str]:
    env = {
        **os.environ,
        "NUSAWORKER_REDIS_URL": redis_url,
        "NUSAWORKER_KEY_PREFIX": key_prefix,
        "NUSAWORKER_CALLBACK_TOKEN": TOKEN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "nusaworker.cli", "callbacks", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        found = re.search(r"(http://[0-9.]+:\d+)", line)
        assert found, line
        yield found.group(1)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def test_cli_callbacks_serves_the_receiver_and_never_prints_the_token(
    receiver_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    ledger = Ledger(redis_client, keys=Keys(prefix=key_prefix))
    message_id = sent_record(ledger, "NSCLI1")

    health = requests.get(f"{receiver_url}/healthz", timeout=5)
    refused = requests.get(
        f"{receiver_url}/not-the-token-000000/wa/status",
        params={"ref_no": "NSCLI1", "status": "R"},
        timeout=5,
    )
    accepted = requests.get(
        f"{receiver_url}/{TOKEN}/wa/status", params={"ref_no": "NSCLI1", "status": "R"}, timeout=5
    )

    assert (health.status_code, refused.status_code, accepted.status_code) == (200, 403, 200)
    assert ledger.get(message_id).state is MessageState.READ
    assert TOKEN not in receiver_url
