"""The receiver never lets waitress log its token (the first segment of every push path)."""

from __future__ import annotations

import logging

from nusaworker.tracking.receiver import _MaskToken

TOKEN = "cb-token-0123456789abcdef"


def _record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("waitress", logging.ERROR, __file__, 1, msg, None, None)


def test_mask_token_hides_the_path_token_in_waitress_lines() -> None:
    record = _record(f"Exception while serving /{TOKEN}/wa/status")

    assert _MaskToken().filter(record)
    assert record.getMessage() == "Exception while serving /***/wa/status"


def test_mask_token_is_installed_on_the_waitress_logger() -> None:
    assert any(isinstance(f, _MaskToken) for f in logging.getLogger("waitress").filters)


def test_mask_token_leaves_other_lines_alone() -> None:
    record = _record("Serving on http://127.0.0.1:8090")

    assert _MaskToken().filter(record)
    assert record.getMessage() == "Serving on http://127.0.0.1:8090"
