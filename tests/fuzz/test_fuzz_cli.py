"""``nusaworker send`` under bad arguments: exit 0 with an id, or exit 2 with one line.

Each example runs the console entry point in this process (``cli.main``, as the console script
does) with drawn channel, destination, text and options, the settings in the environment
pointing at a test Redis prefix and the sandbox. A refusal is exit status 2 and one line on
stderr naming the field or option, with nothing recorded and no hit on the sandbox; anything
else (a traceback, another status) fails.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nusaworker import cli, producer
from nusaworker.ledger import MessageState
from nusaworker.sandbox import Sandbox
from nusaworker.testing.fuzzing import numbers, odd_text

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cli_env(redis_url: str, fuzz_prefix: str, fuzz_box: Sandbox) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NUSAWORKER_REDIS_URL", redis_url)
        patch.setenv("NUSAWORKER_KEY_PREFIX", fuzz_prefix)
        patch.setenv("NUSAWORKER_NUSASMS_BASE_URL", fuzz_box.url)
        producer._default = None  # built from this environment on first use
        yield
        producer._default = None


def _arg(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    """Command-line arguments are strings without NUL (the OS cannot pass one)."""
    return strategy.filter(lambda v: isinstance(v, str) and "\x00" not in v)


_TEXT = st.one_of(
    st.text(max_size=200),
    st.text(max_size=200),
    odd_text(),
    st.sampled_from([159, 161, 1531, 4097, 20_000]).map(lambda n: "a" * n),
)


@given(
    channel=st.sampled_from(["wa", "sms", "wa_media", "check", "sms_group", "wa", "sms"]),
    destination=_arg(numbers()),
    text=st.one_of(st.none(), _arg(_TEXT)),
    options=st.lists(
        st.one_of(
            st.tuples(st.just("--priority"), st.sampled_from(["otp", "bulk", "vip"])),
            st.tuples(st.just("--validity"), st.sampled_from(["60", "-1", "nan", "1e400", "x"])),
            st.tuples(st.just("--idempotency-key"), _arg(_TEXT)),
            st.tuples(st.just("--field"), _arg(st.text(max_size=30))),
            st.tuples(st.just("--otp")),
        ),
        max_size=2,
    ),
)
def test_fuzz_cli_send_exits_0_or_2_with_one_line(
    cli_env: None,
    fuzz_box: Sandbox,
    tally: Any,
    channel: str,
    destination: str,
    text: str | None,
    options: list[tuple[str, ...]],
) -> None:
    argv = ["send", channel, destination, *([text] if text is not None else [])]
    argv += [part for option in options for part in option]
    hits = len(fuzz_box.hits())
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse refuses an option: exit 2 with its usage
            code = int(exc.code or 0)
    tally("cli.send", "seconds", time.perf_counter() - started)
    assert code in (0, 2), err.getvalue()
    if code == 0:
        tally("cli.send", "accepted")
        record = producer.get_message(out.getvalue().strip())
        assert record.state is MessageState.ACCEPTED
        return
    tally("cli.send", "refused")
    assert out.getvalue() == ""
    assert all(c.isprintable() or c == "\n" for c in err.getvalue()), err.getvalue()
    lines = err.getvalue().strip().split("\n")
    # Ours: one line naming the field; argparse's: the usage, then one error line.
    assert lines and lines[-1].startswith("nusaworker"), err.getvalue()
    assert len(lines) == 1 or "usage:" in err.getvalue()
    refused_hits = len(fuzz_box.hits()) - hits
    tally("cli.send", "refused_hits", refused_hits)
    assert refused_hits == 0
