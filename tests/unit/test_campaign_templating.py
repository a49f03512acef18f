"""Campaign templates: named fields only, validated once; a missing field is the row's problem."""

from __future__ import annotations

import pytest

from nusaworker.campaigns import CampaignInputError, Template


def test_templating_renders_named_fields() -> None:
    template = Template("Hi {name}, your code {code}. {name}!")
    assert template.fields == ("name", "code")
    assert template.render({"name": "Ayu", "code": "4711", "extra": "x"}) == (
        "Hi Ayu, your code 4711. Ayu!"
    )


def test_templating_values_are_never_interpreted() -> None:
    template = Template("Hi {name}")
    assert template.render({"name": "{code.__class__} {0}"}) == "Hi {code.__class__} {0}"


def test_templating_literal_braces() -> None:
    assert Template("{{promo}} for {name}").render({"name": "Ayu"}) == "{promo} for Ayu"
    assert Template("no fields {{here}}").render({}) == "no fields {here}"


def test_templating_missing_lists_absent_and_blank_fields_in_order() -> None:
    template = Template("Hi {name}, your code {code}, {city}")
    assert template.missing({"name": "Ayu", "code": " ", "city": "Bogor"}) == ["code"]
    assert template.missing({}) == ["name", "code", "city"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Hi {name", "does not parse"),
        ("Hi name}", "does not parse"),
        ("Hi {}", "empty field"),
        ("Hi {0}", "not a plain name"),
        ("Hi {user.__class__}", "not a plain name"),
        ("Hi {items[0]}", "not a plain name"),
        ("Hi {name!r}", "conversion or format spec"),
        ("Hi {name:>99999999}", "conversion or format spec"),
        ("Hi {name:{width}}", "conversion or format spec"),
    ],
)
def test_templating_refuses_unsafe_or_broken_templates(text: str, message: str) -> None:
    with pytest.raises(CampaignInputError, match=message):
        Template(text)


def test_templating_error_is_a_value_error_and_not_retryable() -> None:
    with pytest.raises(ValueError) as caught:
        Template("{0}")
    assert caught.value.retryable is False  # type: ignore[attr-defined]
