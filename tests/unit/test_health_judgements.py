"""The health check's judgements: what was read from Redis → well or a one-line reason."""

from __future__ import annotations

from nusaworker.health import (
    Finding,
    Verdict,
    judge_accepted,
    judge_beat,
    judge_breakers,
    judge_consumer,
    judge_own_worker,
)

WORKERS = {"otp@h1|11|ab": ("otp",), "bulk@h2|12|cd": ("sms", "wa")}


def test_judge_consumer_well_when_a_live_worker_names_the_queue() -> None:
    assert judge_consumer(WORKERS, "otp").ok
    assert judge_consumer(WORKERS, "wa").ok


def test_judge_consumer_names_the_queue_nobody_consumes() -> None:
    finding = judge_consumer(WORKERS, "check")

    assert not finding.ok
    assert finding.detail.startswith("no consumer on check")
    assert not judge_consumer({}, "otp").ok


def test_judge_consumer_does_not_take_a_queue_for_its_prefix() -> None:
    assert not judge_consumer({"w@h|1|a": ("wa_official",)}, "wa").ok


def test_judge_beat_silent_past_the_threshold_or_never_seen() -> None:
    assert judge_beat(2.0, 30).ok
    assert judge_beat(30.0, 30).ok
    late = judge_beat(31.0, 30)
    never = judge_beat(None, 30)

    assert not late.ok and late.detail == "beat silent for 31 s (max 30 s)"
    assert not never.ok and never.detail.startswith("beat silent")


def test_judge_breakers_names_every_open_breaker() -> None:
    assert judge_breakers([]).ok
    finding = judge_breakers([("nusasms", "wa", "credit"), ("backup", "sms", "auth")])

    assert not finding.ok
    assert finding.detail == "breaker open: nusasms/wa (credit), backup/sms (auth)"


def test_judge_accepted_names_the_oldest_waiting_message_past_the_threshold() -> None:
    assert judge_accepted(None, 300).ok
    assert judge_accepted(("m1", 299.0), 300).ok
    finding = judge_accepted(("m1", 301.4), 300)

    assert not finding.ok
    assert finding.detail == "oldest accepted message m1 waits 301 s (max 300 s)"


def test_judge_own_worker_by_node_name_or_host() -> None:
    assert judge_own_worker(WORKERS, "otp@h1").ok
    assert judge_own_worker(WORKERS, "@h2").ok
    assert not judge_own_worker(WORKERS, "@h3").ok
    assert not judge_own_worker(WORKERS, "otp@h2").ok
    assert not judge_own_worker(WORKERS, "@h").ok  # a host is matched whole, not by prefix


def test_verdict_line_is_the_first_unwell_finding() -> None:
    verdict = Verdict(
        [
            Finding("redis", True, "Redis answers"),
            Finding("consumer", False, "no consumer on otp"),
            Finding("beat", False, "beat silent"),
        ]
    )

    assert not verdict.ok
    assert verdict.line == "no consumer on otp"
    assert verdict.as_dict()["ok"] is False


def test_verdict_well_summarises_every_check() -> None:
    verdict = Verdict([Finding("redis", True, "Redis answers"), Finding("beat", True, "ticked")])

    assert verdict.ok
    assert verdict.line == "ok: Redis answers; ticked"
