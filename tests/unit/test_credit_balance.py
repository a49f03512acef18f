"""Balance snapshots, conditions and crossing detection: pure functions, no network."""

from __future__ import annotations

import datetime as dt

import pytest

from nusaworker.credit.alerts import AlertKind, Severity
from nusaworker.credit.balance import (
    BalanceSnapshot,
    crossings,
    days_left,
    evaluate,
    snapshot_from,
)
from nusaworker.credit.clock import provider_today
from nusaworker.providers import Balance, SmsCredits

TODAY = dt.date(2025, 6, 1)
THRESHOLDS = {"wa": 100.0, "sms_credits": 50.0}


def snap(
    wa: float | None = 500.0, wa_expiry: dt.date | None = None, **kw: float
) -> BalanceSnapshot:
    balances = {"wa": wa, **kw} if wa is not None else dict(kw)
    expiry = {"wa": wa_expiry} if wa_expiry else {}
    return BalanceSnapshot(account="nusasms:abc", at=1.0, balances=balances, expiry=expiry)


def test_snapshot_from_reads_every_balance_and_expiry_date() -> None:
    balance = Balance.model_validate(
        {"wa_balance": 12, "wa_expired_date": "2025-12-31", "sms_balance": 3.5,
         "sms_expired_date": "2025-07-01", "hlr_balance": 0, "sim_balance": None,
         "pulsa_balance": 9}
    )  # fmt: skip
    credits = SmsCredits.model_validate({"credits": "1,234.5", "expired_date": "2026-01-02"})
    snapshot = snapshot_from("acct", 10.0, balance, credits)
    assert snapshot.balances == {"wa": 12, "sms": 3.5, "hlr": 0, "pulsa": 9, "sms_credits": 1234.5}
    assert snapshot.expiry == {
        "wa": dt.date(2025, 12, 31),
        "sms": dt.date(2025, 7, 1),
        "sms_credits": dt.date(2026, 1, 2),
    }


def test_snapshot_from_tolerates_a_missing_answer_and_round_trips_as_json() -> None:
    only_sms = snapshot_from("acct", 5.0, None, SmsCredits.model_validate({"credits": "7"}))
    assert only_sms.balances == {"sms_credits": 7.0} and only_sms.expiry == {}
    full = snap(wa=3, wa_expiry=dt.date(2025, 6, 3), sms_credits=9)
    assert BalanceSnapshot.from_json(full.to_json()) == full


@pytest.mark.parametrize(
    ("expiry", "days"),
    [(dt.date(2025, 6, 1), 0), (dt.date(2025, 6, 8), 7), (dt.date(2025, 5, 31), -1)],
)
def test_days_left_counts_whole_days_and_goes_negative_once_past(
    expiry: dt.date, days: int
) -> None:
    assert days_left(expiry, TODAY) == days


def test_evaluate_judges_low_and_expiry_of_watched_types_only() -> None:
    snapshot = snap(wa=99.0, wa_expiry=dt.date(2025, 6, 8), sms_credits=50.0, hlr=0.0)
    levels = evaluate(snapshot, THRESHOLDS, expiry_days=7, today=TODAY)
    # hlr is not watched; sms_credits at its threshold is fine; 7 days left is "soon".
    assert levels == {"low:wa": "low", "expiry:wa": "soon", "low:sms_credits": "ok"}


@pytest.mark.parametrize(
    ("expiry", "level"),
    [(dt.date(2025, 6, 9), "ok"), (dt.date(2025, 6, 1), "soon"), (dt.date(2025, 5, 1), "expired")],
)
def test_evaluate_expiry_levels(expiry: dt.date, level: str) -> None:
    levels = evaluate(snap(wa_expiry=expiry), {"wa": 0.0}, expiry_days=7, today=TODAY)
    assert levels == {"low:wa": "ok", "expiry:wa": level}


def test_evaluate_skips_a_type_whose_value_is_unknown() -> None:
    assert evaluate(snap(wa=None), THRESHOLDS, expiry_days=7, today=TODAY) == {}


def test_crossings_alert_once_per_crossing_and_once_on_recovery() -> None:
    rounds = [600.0, 90.0, 80.0, 10.0, 150.0, 160.0, 40.0]
    previous: dict[str, str | None] = {}
    kinds = []
    for wa in rounds:
        snapshot = snap(wa=wa)
        levels = evaluate(snapshot, {"wa": 100.0}, 7, TODAY)
        kinds += [a.kind for a in crossings(previous, levels, snapshot, {"wa": 100.0}, 7)]
        previous = dict(levels)
    assert kinds == [
        AlertKind.BALANCE_LOW,
        AlertKind.BALANCE_RECOVERED,
        AlertKind.BALANCE_LOW,
    ]


def test_crossings_first_seen_ok_is_silent_first_seen_bad_alerts() -> None:
    low = snap(wa=0.0)
    levels = evaluate(low, {"wa": 100.0}, 7, TODAY)
    alerts = crossings({}, levels, low, {"wa": 100.0}, 7)
    assert [a.kind for a in alerts] == [AlertKind.BALANCE_LOW]
    assert alerts[0].severity is Severity.CRITICAL  # nothing left at all
    assert alerts[0].details == {"balance_type": "wa", "balance": 0.0, "threshold": 100.0}
    fine = snap(wa=500.0)
    assert crossings({}, evaluate(fine, {"wa": 100.0}, 7, TODAY), fine, {"wa": 100.0}, 7) == []


def test_crossings_expiry_soon_then_expired_then_renewed() -> None:
    dates = [dt.date(2025, 7, 1), dt.date(2025, 6, 5), dt.date(2025, 6, 4), dt.date(2025, 5, 30),
             dt.date(2026, 6, 1)]  # fmt: skip
    previous: dict[str, str | None] = {}
    seen = []
    for date in dates:
        snapshot = snap(wa_expiry=date)
        levels = evaluate(snapshot, {"wa": 0.0}, 7, TODAY)
        seen += [
            (a.kind, a.severity) for a in crossings(previous, levels, snapshot, {"wa": 0.0}, 7)
        ]
        previous = dict(levels)
    assert seen == [
        (AlertKind.EXPIRY_NEAR, Severity.WARNING),
        (AlertKind.EXPIRED, Severity.CRITICAL),
        (AlertKind.EXPIRY_RECOVERED, Severity.INFO),
    ]


def test_provider_today_is_the_date_in_jakarta() -> None:
    # 2025-06-01 18:30 UTC is already 2025-06-02 01:30 in Jakarta (UTC+7).
    now = dt.datetime(2025, 6, 1, 18, 30, tzinfo=dt.UTC).timestamp()
    assert provider_today(now) == dt.date(2025, 6, 2)
