"""The log formats and the secret mask (nusaworker.logs), on records of any logger."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from nusaworker.logs import MASK, install, redact, secret_values
from nusaworker.settings import AccountSettings, Settings

API_KEY = "sk-live-0123456789abcdef"
REDIS_PASSWORD = "r3dis-s3cret-pw"
BACKUP_KEY = 'bk"quoted\\key-42'


def _settings(log_format: str = "text") -> Settings:
    return Settings(
        redis_url=f"redis://:{REDIS_PASSWORD}@redis.internal:6379/0",
        nusasms_api_key=SecretStr(API_KEY),
        accounts=[
            AccountSettings(name="backup", credentials={"api_key": SecretStr(BACKUP_KEY)}),
        ],
        log_format=log_format,  # type: ignore[arg-type]
    )


@pytest.fixture
def stream_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose only handler writes to a string. It propagates, as a library's does:
    pytest then adds its own capturing handlers to the root logger only, not to this one, and
    ``install`` (which reformats every handler of the logger it is given) leaves them alone."""
    stream = io.StringIO()
    logger = logging.getLogger("test.logs.third_party")
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.removeHandler(handler)
    logging.captureWarnings(False)  # install() turned it on for the process


def test_secret_values_name_every_secret_of_the_settings() -> None:
    found = secret_values(_settings())
    assert {API_KEY, REDIS_PASSWORD, BACKUP_KEY} <= set(found)
    assert found == sorted(found, key=len, reverse=True)


def test_redact_masks_url_passwords_of_any_url_and_keeps_the_user() -> None:
    assert redact("to redis://:pw@host:6379/0 now") == f"to redis://:{MASK}@host:6379/0 now"
    assert redact("amqp://guest:guest@mq/") == f"amqp://guest:{MASK}@mq/"
    assert redact("https://example.com/a:b@c") == "https://example.com/a:b@c"  # not userinfo


def test_redact_leaves_short_values_to_the_url_rule() -> None:
    assert redact("pass the salt", ["pass"]) == "pass the salt"


def test_text_lines_of_a_third_party_logger_never_show_a_secret(
    stream_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = stream_logger
    install(_settings("text"), logger)
    logger.info("connecting to redis://:%s@redis.internal:6379/0", REDIS_PASSWORD)
    logger.info("GET /api?key=%s", API_KEY)
    try:
        raise RuntimeError(f"refused: {BACKUP_KEY}")
    except RuntimeError:
        logger.exception("request failed")
    text = stream.getvalue()
    assert "refused: ***" in text and "Traceback" in text
    for secret in (API_KEY, REDIS_PASSWORD, BACKUP_KEY):
        assert secret not in text


def test_json_lines_are_objects_with_extra_fields_and_no_secret(
    stream_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = stream_logger
    install(_settings("json"), logger)
    logger.info("key %s", BACKUP_KEY, extra={"message_id": "m1", "state": "sent"})
    line = stream.getvalue().strip()
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message_id"] == "m1" and entry["state"] == "sent"
    assert entry["level"] == "INFO" and entry["logger"] == "test.logs.third_party"
    assert entry["message"] == f"key {MASK}"
    assert json.dumps(BACKUP_KEY)[1:-1] not in line
