"""Pure logic of the sandbox: segments, fault draws, the gap rule, status paths, body parsing."""

from __future__ import annotations

import random

import pytest

from nusaworker.sandbox import FaultProfile
from nusaworker.sandbox.faults import draw
from nusaworker.sandbox.hits import HitLog
from nusaworker.sandbox.messages import WA_PATH, Message, ends_badly, plan_path
from nusaworker.sandbox.nusasms.segments import count_segments, is_gsm7
from nusaworker.sandbox.wire import Request, parse_multipart


@pytest.mark.parametrize(
    ("text", "unicode", "expected"),
    [
        ("a" * 160, False, (1, "gsm7")),
        ("a" * 161, False, (2, "gsm7")),
        ("a" * 306, False, (2, "gsm7")),
        ("a" * 307, False, (3, "gsm7")),
        ("{" * 80, False, (1, "gsm7")),  # extension chars take two septets
        ("{" * 81, False, (2, "gsm7")),
        ("é" * 160, False, (1, "gsm7")),  # é is in the basic GSM-7 table
        ("ê" * 70, False, (1, "ucs2")),  # ê is not: UCS-2 even without the unicode flag
        ("ê" * 71, False, (2, "ucs2")),
        ("a" * 70, True, (1, "ucs2")),
        ("a" * 71, True, (2, "ucs2")),
        ("\U0001f600" * 35, False, (1, "ucs2")),  # emoji: two UTF-16 units each
        ("\U0001f600" * 36, False, (2, "ucs2")),
    ],
)
def test_count_segments_gsm7_and_ucs2_limits(
    text: str, unicode: bool, expected: tuple[int, str]
) -> None:
    assert count_segments(text, unicode=unicode) == expected


def test_is_gsm7_rejects_non_alphabet() -> None:
    assert is_gsm7("Hello NusaSMS! €[]")
    assert not is_gsm7("Halo 😀")


def test_fault_profile_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="p_5xx"):
        FaultProfile(p_5xx=1.5)
    with pytest.raises(ValueError, match="unknown"):
        FaultProfile.from_mapping({"p_boom": 0.1})
    profile = FaultProfile.from_mapping({"p_429": "0.25", "retry_after_date": 1})
    assert profile.p_429 == 0.25 and profile.retry_after_date is True
    assert FaultProfile.from_mapping(profile.to_dict()) == profile


def test_fault_draw_is_reproducible_with_a_seed() -> None:
    profile = FaultProfile(p_429=0.3, p_5xx=0.3, p_malformed=0.3, latency_ms=5, latency_jitter_ms=5)
    first = [draw(profile, random.Random(3), is_send=True) for _ in range(1)]
    rng_a, rng_b = random.Random(11), random.Random(11)
    run_a = [draw(profile, rng_a, is_send=True) for _ in range(200)]
    run_b = [draw(profile, rng_b, is_send=True) for _ in range(200)]
    assert run_a == run_b
    kinds = {d.reject or d.after for d in run_a}
    assert {"429", "5xx", "malformed", None} <= kinds
    assert all(0.0 <= d.delay_s <= 0.010 for d in run_a)
    assert first[0] == draw(profile, random.Random(3), is_send=True)


def test_fault_draw_off_profile_never_faults() -> None:
    rng = random.Random(1)
    decisions = [draw(FaultProfile(), rng, is_send=True) for _ in range(100)]
    assert all(d.reject is None and d.after is None and d.delay_s == 0 for d in decisions)


def test_fault_draw_drop_only_for_sends() -> None:
    rng = random.Random(1)
    profile = FaultProfile(p_drop_after_accept=1.0)
    assert draw(profile, rng, is_send=True).after == "drop"
    assert draw(profile, rng, is_send=False).after is None


def test_hitlog_gap_rule_per_account() -> None:
    log = HitLog()
    rule = {"min_interval_s": 0.05, "rule_applies": True}
    first = log.record(10.000, "main", "GET", "/b", "read", **rule)
    close = log.record(10.020, "main", "GET", "/b", "read", **rule)
    other = log.record(10.021, "other", "GET", "/b", "read", **rule)
    spaced = log.record(10.080, "main", "GET", "/b", "read", **rule)
    assert not first.violation and close.violation and not other.violation
    assert not spaced.violation  # 60 ms after the 429-answered hit, which still counts
    stats = log.stats()
    assert stats["hits"] == 4 and stats["violations"] == 1
    assert stats["accounts"]["main"]["min_gap_ms"] == pytest.approx(20.0)
    assert stats["accounts"]["main"]["first_hit"] == 10.0
    assert stats["accounts"]["main"]["last_hit"] == 10.08


def test_hitlog_unknown_account_not_judged() -> None:
    log = HitLog()
    log.record(1.0, "?", "GET", "/x", "other", min_interval_s=0.05, rule_applies=False)
    hit = log.record(1.001, "?", "GET", "/x", "other", min_interval_s=0.05, rule_applies=False)
    assert not hit.violation
    log.finish(hit, 401, fault=None, accepted=False)
    assert log.stats()["by_status"] == {"401": 1}


def test_message_status_progresses_one_step_per_interval() -> None:
    msg = Message(
        ref_no="x", account="main", channel="wa", kind="message", destination="628",
        cost=1, created=100.0, created_wall=0.0, path=WA_PATH, step_s=0.5,
    )  # fmt: skip
    assert [msg.status_at(100.0 + t) for t in (0, 0.49, 0.5, 1.0, 1.5, 99)] == list("QQSDRR")
    assert msg.reached_wall("D", 101.0) == 1.0 and msg.reached_wall("R", 101.0) is None


def test_plan_path_failures_are_deterministic_and_rare() -> None:
    refs = [f"NSREF{i:06d}" for i in range(2000)]
    failing = [r for r in refs if ends_badly(r, 0.05)[0]]
    assert 40 <= len(failing) <= 170
    assert [ends_badly(r, 0.05) for r in refs] == [ends_badly(r, 0.05) for r in refs]
    assert plan_path("wa", failing[0], fail_rate=0.05, timeout_s=None, step_s=0.5)[-1] in "AF"
    assert plan_path("wa", refs[0], fail_rate=0.0, timeout_s=None, step_s=0.5) == WA_PATH
    assert plan_path("wa", refs[0], fail_rate=0.0, timeout_s=0.1, step_s=0.5)[-1] == "F"


def test_parse_multipart_fields_and_files() -> None:
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="room_id"\r\n\r\nabc\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n--XyZ--\r\n"
    )
    fields, files = parse_multipart("multipart/form-data; boundary=XyZ", body)
    assert fields == {"room_id": "abc"}
    assert files == {"file": ("a.png", b"\x89PNG")}


def test_request_fields_reads_form_or_json() -> None:
    form = Request("POST", "/", {}, {"content-type": "application/x-www-form-urlencoded"},
                   b"destination=628123456789&message=hi", 0.0)  # fmt: skip
    assert form.fields() == {"destination": "628123456789", "message": "hi"}
    bare = Request("POST", "/", {}, {}, b'{"a": 1}', 0.0)
    assert bare.fields() == {"a": 1}
