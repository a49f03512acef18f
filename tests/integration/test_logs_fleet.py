"""A worker's log under ``NUSAWORKER_LOG_FORMAT=json``: every line of its stderr is a JSON
object, every state change of every message is there with its id, and neither the password of
the Redis URL nor the provider API key is written anywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nusaworker.ledger import MessageState
from nusaworker.producer import Producer
from nusaworker.settings import Settings
from nusaworker.testing.fleet import REPO_ROOT, fleet_env
from nusaworker.testing.redis_server import private_redis
from nusaworker.testing.waiting import wait_for

pytestmark = pytest.mark.integration

REDIS_PASSWORD = "pw-in-the-url-8c1f2e"
API_KEY = "sk-nusasms-live-4d9a7b31"
N = 10


@pytest.fixture(scope="module")
def locked_redis() -> Iterator[str]:
    """A private Redis that asks for a password: the URL carries it, as in production."""
    with private_redis(password=REDIS_PASSWORD) as url:
        yield url


def test_json_log_of_a_worker_has_every_state_change_and_no_secret(
    locked_redis: str, make_sandbox: Any, tmp_path: Path
) -> None:
    assert REDIS_PASSWORD in locked_redis
    box = make_sandbox(api_key=API_KEY)
    env = fleet_env(
        redis_url=locked_redis,
        key_prefix="nwlogs:",
        base_url=box.url,
        api_key=API_KEY,
        log_format="json",
        metrics_port="0",
    )
    out, err = tmp_path / "stdout.log", tmp_path / "stderr.log"
    cmd = [sys.executable, "-m", "celery", "-A", "nusaworker", "worker", "-Q", "wa"]
    cmd += ["-c", "4", "-n", "logs@%h", "-l", "info", "--without-gossip", "--without-mingle"]
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO_ROOT,
            env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    try:
        assert wait_for(lambda: " ready." in err.read_text() or proc.poll() is not None, 30)
        settings = Settings(redis_url=locked_redis, key_prefix="nwlogs:", nusasms_base_url=box.url)
        producer = Producer.from_settings(settings)
        ids = [producer.send_whatsapp(f"62812555{i:05d}", f"hello {i}") for i in range(N)]

        def all_sent() -> bool:
            return producer.ledger.counts_by_state(ids).get(MessageState.SENT, 0) == N

        assert wait_for(all_sent, 30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    lines = err.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line, or this fails
    assert all(isinstance(e, dict) and "message" in e and "level" in e for e in entries)
    moves: dict[str, list[str]] = defaultdict(list)
    for entry in entries:
        if entry.get("event") == "state_change":
            moves[entry["message_id"]].append(entry["state"])
            if entry["state"] == "sent":
                assert entry["account"] == "nusasms" and entry["ref_no"]
    for message_id in ids:
        assert moves[message_id] == ["sending", "sent"], message_id

    everything = err.read_text() + out.read_text()
    assert "ready." in everything  # the worker did write
    for secret in (REDIS_PASSWORD, API_KEY):
        assert secret not in everything
