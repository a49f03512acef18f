"""`nusaworker callbacks` with ``NUSAWORKER_LOG_FORMAT=json``: every stderr line is a JSON
object, the state change a push makes is one of them with its message id, the token is never
written, and ``GET /metrics`` counts the pushes it answered."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageState
from nusaworker.testing.records import sent_record

pytestmark = pytest.mark.integration

TOKEN = "json-log-callback-token-0123456789"


def test_receiver_logs_json_without_the_token_and_serves_metrics(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    ledger = Ledger(redis_client, keys=Keys(prefix=key_prefix))
    message_id = sent_record(ledger, "NSJSON1")
    env = {
        **os.environ,
        "NUSAWORKER_REDIS_URL": redis_url,
        "NUSAWORKER_KEY_PREFIX": key_prefix,
        "NUSAWORKER_CALLBACK_TOKEN": TOKEN,
        "NUSAWORKER_LOG_FORMAT": "json",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "nusaworker.cli", "callbacks", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        found = re.search(r"(http://[0-9.]+:\d+)", proc.stdout.readline().decode())
        assert found
        url = found.group(1)
        wrong = requests.get(f"{url}/not-the-token-0000000000/wa/status", timeout=5)
        push = requests.get(
            f"{url}/{TOKEN}/wa/status", params={"ref_no": "NSJSON1", "status": "D"}, timeout=5
        )
        metrics = requests.get(f"{url}/metrics", timeout=5)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=10)

    assert (wrong.status_code, push.status_code, metrics.status_code) == (403, 200, 200)
    assert ledger.get(message_id).state is MessageState.DELIVERED
    counted = {
        (s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(metrics.text)
        for s in family.samples
        if s.name == "nusaworker_callbacks_total"
    }
    assert counted[("wa/status", "200")] == 1 and counted[("wa/status", "403")] == 1

    text = err.decode()
    entries = [json.loads(line) for line in text.splitlines()]  # every line, or this fails
    moves = [e for e in entries if e.get("event") == "state_change"]
    assert [(m["message_id"], m["previous"], m["state"]) for m in moves] == [
        (message_id, "sent", "delivered")
    ]
    assert any("bad token" in e["message"] for e in entries)
    assert TOKEN not in text
