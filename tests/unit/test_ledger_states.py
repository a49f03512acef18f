"""The state graph of a message record: every legal and illegal move, and forward-only."""

from __future__ import annotations

import itertools

import pytest

from nusaworker.ledger.states import (
    EXPIRING_STATES,
    FINAL_STATES,
    RANK,
    TRANSITIONS,
    MessageState,
    can_transition,
    predecessors,
)

S = MessageState

# The moves the design allows, written out independently of the module under test.
LEGAL = {
    ("accepted", "sending"),
    ("accepted", "rejected"),
    ("accepted", "aborted"),
    ("accepted", "expired"),
    ("sending", "sent"),
    ("sending", "rejected"),
    ("sending", "failed"),
    ("sending", "unknown"),
    ("sending", "expired"),
    ("sent", "delivered"),
    ("sent", "read"),
    ("sent", "failed"),
    ("sent", "aborted"),
    ("sent", "expired"),
    ("delivered", "read"),
    ("unknown", "sent"),
    ("unknown", "delivered"),
    ("unknown", "read"),
    ("unknown", "failed"),
}

ALL_PAIRS = list(itertools.product([s.value for s in S], repeat=2))


def test_message_state_values_are_the_designed_ten() -> None:
    assert {s.value for s in S} == {
        "accepted", "sending", "sent", "delivered", "read",
        "failed", "aborted", "rejected", "unknown", "expired",
    }  # fmt: skip
    assert set(TRANSITIONS) == set(S)
    assert set(RANK) == set(S)


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS)
def test_can_transition_allows_exactly_the_designed_moves(current: str, new: str) -> None:
    assert can_transition(current, new) is ((current, new) in LEGAL)


@pytest.mark.parametrize(("current", "new"), sorted(LEGAL))
def test_can_transition_every_edge_climbs_the_rank(current: str, new: str) -> None:
    assert RANK[S(new)] > RANK[S(current)]


@pytest.mark.parametrize(("current", "new"), ALL_PAIRS)
def test_can_transition_never_moves_backwards_or_sideways(current: str, new: str) -> None:
    if RANK[S(new)] <= RANK[S(current)]:
        assert not can_transition(current, new)


def test_can_transition_late_sent_never_overwrites_read() -> None:
    assert not can_transition(S.READ, S.SENT)
    assert not can_transition(S.DELIVERED, S.SENT)
    assert not can_transition(S.READ, S.DELIVERED)


@pytest.mark.parametrize("start", list(S))
def test_transitions_no_path_leads_back_to_where_it_started(start: MessageState) -> None:
    seen: set[MessageState] = set()
    frontier = set(TRANSITIONS[start])
    while frontier:
        state = frontier.pop()
        assert state is not start
        if state not in seen:
            seen.add(state)
            frontier |= TRANSITIONS[state]


def test_message_state_is_final_marks_known_outcomes() -> None:
    assert {s for s in S if s.is_final} == {
        S.DELIVERED, S.READ, S.FAILED, S.ABORTED, S.REJECTED, S.EXPIRED,
    }  # fmt: skip
    assert {s for s in S if s.is_final} == FINAL_STATES


def test_message_state_is_terminal_only_where_nothing_leaves() -> None:
    assert {s for s in S if s.is_terminal} == {S.READ, S.FAILED, S.ABORTED, S.REJECTED, S.EXPIRED}
    assert not S.DELIVERED.is_terminal  # a late read receipt may still arrive


def test_expiring_states_are_final_plus_unknown() -> None:
    assert FINAL_STATES | {S.UNKNOWN} == EXPIRING_STATES
    assert S.SENT not in EXPIRING_STATES
    assert S.ACCEPTED not in EXPIRING_STATES


@pytest.mark.parametrize("state", list(S))
def test_predecessors_inverts_the_table(state: MessageState) -> None:
    assert predecessors(state) == {S(a) for a, b in LEGAL if b == state.value}


def test_predecessors_of_claim_states() -> None:
    assert predecessors(S.ACCEPTED) == frozenset()
    assert predecessors(S.SENDING) == {S.ACCEPTED}
    assert predecessors("sent") == {S.SENDING, S.UNKNOWN}


def test_can_transition_rejects_unknown_state_names() -> None:
    with pytest.raises(ValueError):
        can_transition("accepted", "queued")
