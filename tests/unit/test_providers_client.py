"""The client without a network: construction, fingerprint, secrets, refusals before a hit."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import SecretStr, ValidationError

from nusaworker.errors import ConfigurationError
from nusaworker.providers import NusaSMSClient, account_fingerprint
from nusaworker.providers.gate import Gate, Priority

KEY = "KEY-do-not-leak-7f3a9"
PASSWORD = "pw-do-not-leak-1c2d"


class RecordingGate:
    """A Gate test double that only records calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def acquire(self, account: str, *, priority: Priority = "normal") -> None:
        self.calls.append(("acquire", account, priority))

    def penalize(self, account: str, seconds: float) -> None:
        self.calls.append(("penalize", account, seconds))


def test_account_fingerprint_is_a_prefix_of_sha256() -> None:
    expected = "nusasms:" + hashlib.sha256(KEY.encode()).hexdigest()[:16]
    assert account_fingerprint(KEY) == expected
    with NusaSMSClient(api_key=KEY) as client:
        assert client.account == expected
    with NusaSMSClient(sms_user="user", sms_password=PASSWORD) as client:
        assert client.account == account_fingerprint("user")
    with NusaSMSClient(api_key=KEY, account="nusasms:shared") as client:
        assert client.account == "nusasms:shared"


def test_client_repr_and_attributes_hide_secrets() -> None:
    client = NusaSMSClient(
        base_url="http://127.0.0.1:9/", api_key=SecretStr(KEY), sms_user="u", sms_password=PASSWORD
    )
    text = repr(client) + str(vars(client)) + repr(client.policy)
    assert KEY not in text and PASSWORD not in text
    assert client.base_url == "http://127.0.0.1:9"
    client.close()


def test_client_refuses_calls_without_credentials_before_any_hit() -> None:
    gate = RecordingGate()
    assert isinstance(gate, Gate)
    client = NusaSMSClient(sms_user="u", sms_password=PASSWORD, gate=gate)
    with pytest.raises(ConfigurationError, match="api_key"):
        client.get_balance()
    client.close()
    client = NusaSMSClient(api_key=KEY, gate=gate)
    with pytest.raises(ConfigurationError, match="sms_user"):
        client.get_sms_credits()
    client.close()
    assert gate.calls == []


def test_client_validates_input_before_any_hit() -> None:
    gate = RecordingGate()
    with NusaSMSClient(api_key=KEY, sms_user="u", sms_password=PASSWORD, gate=gate) as client:
        with pytest.raises(ValidationError, match="destination"):
            client.send_whatsapp("12", "hello")
        with pytest.raises(ValidationError, match="template_id"):
            client.send_wa_official_broadcast("6281234567", "Ani", "nope", "nope")
        with pytest.raises(ValidationError, match="phone_numbers"):
            client.check_whatsapp_numbers([])
        with pytest.raises(ValidationError, match="text"):
            client.send_sms("6281234567", "")
        with pytest.raises(ValueError, match="ref_no"):
            client.get_whatsapp_status(" ")
    assert gate.calls == []


def test_client_rejects_nonsense_retry_budget() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        NusaSMSClient(api_key=KEY, max_attempts=0)


def test_redactor_matches_whole_tokens_and_url_encoded_forms() -> None:
    from nusaworker.providers.transport import _Redactor

    redact = _Redactor([SecretStr("pass"), SecretStr("p@ss word!"), SecretStr("")])
    assert redact("password=pass&x=1") == "password=***&x=1"
    assert redact("user=u&password=p%40ss+word%21") == "user=u&password=***"
    assert redact("raw p@ss word! here") == "raw *** here"
    assert redact("passport") == "passport"


def test_summarize_body_redacts_before_cutting() -> None:
    from nusaworker.providers.classify import summarize_body

    secret = "S" * 40
    body = ("x" * 280 + " " + secret).encode()
    summary = summarize_body(body, lambda text: text.replace(secret, "***"))
    assert "SSSS" not in summary and "***" in summary
