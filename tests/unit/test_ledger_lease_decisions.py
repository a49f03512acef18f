"""The lease decision table (what beat does with a dead worker's claims), exhaustively."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from nusaworker.ledger import MessageState
from nusaworker.ledger.leases import LeaseAction, lease_action, resend_in_doubt
from nusaworker.liveness import new_holder
from nusaworker.settings import Settings

CASES = list(
    itertools.product(
        list(MessageState), [True, False], [True, False], [True, False], ["otp", "normal", "bulk"]
    )
)


@pytest.mark.parametrize(("state", "held", "started", "has_ref", "priority"), CASES)
@pytest.mark.parametrize(("otp_resend", "late"), [(True, False), (False, False), (True, True)])
def test_lease_action_matches_the_redelivery_policy(
    state: MessageState,
    held: bool,
    started: bool,
    has_ref: bool,
    priority: str,
    otp_resend: bool,
    late: bool,
) -> None:
    action = lease_action(
        state,
        held_by_dead=held,
        hit_started=started,
        has_ref_no=has_ref,
        priority=priority,
        otp_resend_in_doubt=otp_resend,
        past_validity=late,
    )

    if state is not MessageState.SENDING or not held or has_ref:
        assert action is LeaseAction.FORGET
    elif not started:
        assert action is LeaseAction.REQUEUE
    elif priority == "otp" and otp_resend and not late:
        assert action is LeaseAction.RESEND
    else:
        assert action is LeaseAction.MARK_UNKNOWN


def test_lease_action_never_sends_a_started_non_otp_hit_again() -> None:
    for priority, resend in itertools.product(["normal", "bulk"], [True, False]):
        action = lease_action(
            "sending",
            held_by_dead=True,
            hit_started=True,
            has_ref_no=False,
            priority=priority,
            otp_resend_in_doubt=resend,
        )
        assert action is LeaseAction.MARK_UNKNOWN


def test_resend_in_doubt_only_otp_and_only_when_on() -> None:
    assert resend_in_doubt("otp", True)
    assert not resend_in_doubt("otp", False)
    assert not resend_in_doubt("normal", True)
    assert not resend_in_doubt("bulk", True)


def test_liveness_new_holder_is_unique_per_boot_and_names_the_node() -> None:
    first, second = new_holder("bulk1@host"), new_holder("bulk1@host")

    assert first != second
    assert first.startswith("bulk1@host|")


def test_settings_heartbeat_ttl_must_span_several_intervals() -> None:
    defaults = Settings()
    assert defaults.heartbeat_ttl_s >= 3 * defaults.heartbeat_interval_s
    assert defaults.visibility_timeout_s >= 300

    with pytest.raises(ValidationError):
        Settings(heartbeat_interval_s=2.0, heartbeat_ttl_s=4.0)
