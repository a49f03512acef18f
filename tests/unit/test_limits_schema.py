"""Every request model bounds every text and list it takes (issue 13: limits at the edge).

The JSON schema of each model is walked: a string without ``maxLength`` (a UUID, an enum, a
constant are bounded by their shape), a list without ``maxItems`` or a free object without
``maxProperties`` fails the test, naming the model and the field. A new request model is found
by itself when it derives from ``RequestModel``; the others are named here.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import nusaworker.providers  # noqa: F401  (imports every provider's models)
from nusaworker.campaigns.spec import CampaignSpec
from nusaworker.channels import CHANNELS
from nusaworker.limits import BOUNDS, Limits, check_controls
from nusaworker.producer import EnqueueOptions
from nusaworker.providers.nusasms.models.common import RequestModel
from nusaworker.providers.smartswitch.models import MessageRequest
from nusaworker.providers.smsgateway24.models.send import BulkItem, SendRequest
from nusaworker.providers.wachat.models import WAChatMessageRequest


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found.add(sub)
        found |= _subclasses(sub)
    return found


REQUEST_MODELS: list[type[BaseModel]] = sorted(
    {
        *(m for m in _subclasses(RequestModel) if not m.__name__.startswith("_")),
        *(row.request for row in CHANNELS.values()),
        MessageRequest,
        SendRequest,
        BulkItem,
        EnqueueOptions,
        CampaignSpec,
    },
    key=lambda m: f"{m.__module__}.{m.__name__}",
)


def _unbounded(schema: dict[str, Any], where: str, defs: dict[str, Any]) -> list[str]:
    """The places in ``schema`` holding a string, list or free object without a bound."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _unbounded(defs[name], where, defs)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += _unbounded(option, where, defs)
    kind = schema.get("type")
    if (
        kind == "string"
        and not ("maxLength" in schema or "enum" in schema or "const" in schema)
        and schema.get("format") not in ("uuid", "uuid4")
    ):
        found.append(where)
    if kind == "array":
        if "maxItems" not in schema:
            found.append(where)
        if isinstance(schema.get("items"), dict):
            found += _unbounded(schema["items"], f"{where}[]", defs)
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            found += _unbounded(sub, f"{where}.{name}" if where else name, defs)
        extra = schema.get("additionalProperties")
        if extra is not None and extra is not False and "properties" not in schema:
            if "maxProperties" not in schema:
                found.append(where)
            if isinstance(extra, dict):
                found += _unbounded(extra, f"{where}{{}}", defs)
            if "propertyNames" in schema:
                found += _unbounded(schema["propertyNames"], f"{where}{{key}}", defs)
    return found


def test_limits_schema_finds_the_request_models() -> None:
    names = {m.__name__ for m in REQUEST_MODELS}
    assert {"WhatsAppMessageRequest", "SmsRequest", "BroadcastRequest", "ReplyRequest"} <= names
    assert {"WAChatMessageRequest", "MessageRequest", "SendRequest", "CampaignSpec"} <= names
    assert WAChatMessageRequest in REQUEST_MODELS


@pytest.mark.parametrize("model", REQUEST_MODELS, ids=lambda m: m.__name__)
def test_limits_schema_bounds_every_text_and_list(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    assert _unbounded(schema, "", schema.get("$defs", {})) == []


def test_limits_schema_check_finds_an_unbounded_field() -> None:
    class Loose(BaseModel):
        text: str
        items: list[int]
        mapping: dict[str, str]

    schema = Loose.model_json_schema()
    assert _unbounded(schema, "", {}) == ["text", "items", "mapping", "mapping{}"]


@pytest.mark.parametrize(
    ("text", "lines", "ok"),
    [
        ("hello\nworld\t!", True, True),
        ("hello\nworld", False, False),
        ("nul\x00byte", True, False),
        ("bell\x07", True, False),
        ("del\x7f", True, False),
        ("c1\x85", True, False),
        ("lone\ud800", True, False),
        ("emoji 😀 and ümlaut", False, True),
    ],
)
def test_limits_controls_refused(text: str, lines: bool, ok: bool) -> None:
    if ok:
        assert check_controls(text, lines=lines) == text
    else:
        with pytest.raises(ValueError, match="U\\+"):
            check_controls(text, lines=lines)


def test_limits_lower_but_never_raise() -> None:
    assert Limits({"wa.message": 1500}).of("wa.message") == 1500
    assert Limits().of("wa.message") == BOUNDS["wa.message"].limit
    with pytest.raises(ValueError, match="only lower"):
        Limits({"wa.message": BOUNDS["wa.message"].limit + 1})
    with pytest.raises(ValueError, match="unknown limit"):
        Limits({"wa.mesage": 10})
    with pytest.raises(ValueError, match="from 1"):
        Limits({"sms.parts": 0})


def test_limits_settings_refuse_a_raised_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    from nusaworker.settings import Settings

    monkeypatch.setenv("NUSAWORKER_LIMITS", '{"sms.parts": 3}')
    assert Settings(_env_file=None).edge_limits().of("sms.parts") == 3  # type: ignore[call-arg]
    monkeypatch.setenv("NUSAWORKER_LIMITS", '{"sms.parts": 11}')
    with pytest.raises(ValidationError, match="only lower"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_limits_lowered_bound_names_the_field() -> None:
    row = CHANNELS["wa"]
    fields = {"destination": "6281234567890", "message": "x" * 1501}
    row.validate(fields)  # the documented bound: 4,096
    with pytest.raises(ValidationError) as info:
        row.validate(fields, limits=Limits({"wa.message": 1500}))
    assert info.value.errors()[0]["loc"] == ("message",)
    assert "1500" in str(info.value)


@pytest.mark.parametrize(
    ("text", "parts_ok"),
    [("a" * 1530, True), ("a" * 1531, False), ("ж" * 670, True), ("ж" * 671, False)],
)
def test_limits_sms_is_ten_parts(text: str, parts_ok: bool) -> None:
    fields = {"destination": "6281234567890", "text": text}
    if parts_ok:
        CHANNELS["sms"].validate(fields)
    else:
        with pytest.raises(ValidationError, match="text"):
            CHANNELS["sms"].validate(fields)
