"""``nusaworker suppress add|remove|check|list`` as a user runs it: a real process, a real
Redis."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.suppression import SuppressionList

pytestmark = pytest.mark.integration


def cli(redis_url: str, prefix: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NUSAWORKER_REDIS_URL": redis_url, "NUSAWORKER_KEY_PREFIX": prefix}
    return subprocess.run(
        [sys.executable, "-m", "nusaworker.cli", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_cli_suppress_add_check_remove(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    added = cli(
        redis_url, key_prefix, "suppress", "add", "+62 812-3456-7890", "6281200000001",
        "--note", "asked by phone",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [
        "6281234567890 suppressed",
        "6281200000001 suppressed",
    ]
    entry = SuppressionList(redis_client, keys=Keys(prefix=key_prefix)).get("6281234567890")
    assert entry is not None and (entry.source, entry.note) == ("cli", "asked by phone")

    again = cli(redis_url, key_prefix, "suppress", "add", "6281234567890")
    assert again.stdout.strip() == "6281234567890 already suppressed"

    checked = cli(redis_url, key_prefix, "suppress", "check", "6281234567890", "6281299999999")
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.splitlines() == [
        "6281234567890 suppressed",
        "6281299999999 not suppressed",
    ]

    removed = cli(redis_url, key_prefix, "suppress", "remove", "+6281234567890", "6281299999999")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.splitlines() == [
        "6281234567890 removed",
        "6281299999999 was not suppressed",
    ]
    checked = cli(redis_url, key_prefix, "suppress", "check", "6281234567890")
    assert checked.stdout.strip() == "6281234567890 not suppressed"


def test_cli_suppress_list_pages_newest_first(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    listed = SuppressionList(redis_client, keys=Keys(prefix=key_prefix))
    for i in range(5):
        listed.add(f"628120000000{i}", source="api", note=f"n{i}")

    first = cli(redis_url, key_prefix, "suppress", "list", "--page-size", "2")
    last = cli(redis_url, key_prefix, "suppress", "list", "--page-size", "2", "--page", "3")

    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert lines[0] == "5 suppressed; page 1 of 3, newest first"
    assert [line.split()[0] for line in lines[1:]] == ["6281200000004", "6281200000003"]
    assert lines[1].endswith("api  n4")
    assert [line.split()[0] for line in last.stdout.splitlines()[1:]] == ["6281200000000"]


@pytest.mark.parametrize(
    "args",
    [
        ("add", "6281234567890", "62812abc"),
        ("remove", "call-me"),
        ("check", "62.812.345"),
        ("add",),
        ("list", "6281234567890"),
        ("list", "--page", "0"),
    ],
)
def test_cli_suppress_refuses_bad_input_with_exit_2_and_writes_nothing(
    redis_url: str, redis_client: redis.Redis, key_prefix: str, args: tuple[str, ...]
) -> None:
    done = cli(redis_url, key_prefix, "suppress", *args)

    assert done.returncode == 2, done.stdout
    assert done.stderr.startswith("nusaworker: ")
    assert "Traceback" not in done.stderr
    assert list(redis_client.scan_iter(match=key_prefix + "*")) == []


def test_cli_suppress_names_the_bad_number(redis_url: str, key_prefix: str) -> None:
    done = cli(redis_url, key_prefix, "suppress", "add", "6281234567890", "62812abc")

    assert done.returncode == 2
    assert "not a phone number: '62812abc'" in done.stderr
