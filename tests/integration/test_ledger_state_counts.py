"""The ledger's per-state counts (what the metrics read) and its one log line per move."""

from __future__ import annotations

import logging

import pytest
import redis

from nusaworker.keys import Keys
from nusaworker.ledger import Ledger, MessageRecord, MessageState
from nusaworker.ledger.journal import LOGGER

pytestmark = pytest.mark.integration


def _record() -> MessageRecord:
    payload = {"destination": "6285100803380", "message": "Halo"}
    return MessageRecord.model_validate(
        {"channel": "wa", "destination": "6285100803380", "payload": payload}
    )


def test_state_counts_follow_every_move_and_each_move_is_logged_once(
    redis_client: redis.Redis, key_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    ledger = Ledger(redis_client, keys=Keys(prefix=key_prefix))
    caplog.set_level(logging.INFO, logger=LOGGER)
    ids = [ledger.create(_record())[0] for _ in range(4)]
    ledger.create(_record(), idempotency_key="k")
    ledger.create(_record(), idempotency_key="k")  # a duplicate: no record, no count, no line
    sent = ledger.claim(ids[0])
    ledger.begin_hit(ids[0], sent.token or "", "nusasms")
    ledger.mark_sent(ids[0], sent.token or "", "REF-1", next_poll_at=0.0)
    ledger.update_status(ids[0], MessageState.DELIVERED)
    failed = ledger.claim(ids[1])
    ledger.mark_failed(ids[1], "TransientError: 503", token=failed.token)
    ledger.claim(ids[2])
    assert not ledger.update_status(ids[3], MessageState.READ)  # refused: not counted

    counts = ledger.state_counts()
    assert counts[MessageState.ACCEPTED] == 2  # ids[3] and the idempotent one
    assert counts[MessageState.SENDING] == 1
    assert counts[MessageState.SENT] == 0
    assert counts[MessageState.DELIVERED] == 1
    assert counts[MessageState.FAILED] == 1

    moves = [(r.message_id, r.previous, r.state) for r in caplog.records]  # type: ignore[attr-defined]
    assert moves.count((ids[0], None, "accepted")) == 1
    assert (ids[0], "accepted", "sending") in moves
    assert (ids[0], "sending", "sent") in moves
    assert (ids[0], "sent", "delivered") in moves
    assert (ids[1], "sending", "failed") in moves
    assert len(moves) == 5 + 3 + 3  # five creates, three claims, sent, delivered, failed
    sent_line = next(r for r in caplog.records if r.state == "sent")  # type: ignore[attr-defined]
    assert (sent_line.account, sent_line.ref_no) == ("nusasms", "REF-1")  # type: ignore[attr-defined]
    failed_line = next(r for r in caplog.records if r.state == "failed")  # type: ignore[attr-defined]
    assert failed_line.reason == "TransientError: 503"  # type: ignore[attr-defined]
