"""Per-row message text: ``"Hi {name}, your code {code}"`` filled from each row's fields.

The syntax is ``str.format``'s, cut down to what a campaign needs and can safely be handed from a
file or a form: named fields only, ``{{`` / ``}}`` for literal braces. Refused, when the template
is parsed, which is once, before any row is read:

- attribute and index access (``{user.__class__}``, ``{items[0]}``): a way into the objects
  behind the values, and meaningless for text fields;
- positional fields (``{}``, ``{0}``): rows have names, not positions;
- conversions and format specs (``{name!r}``, ``{code:>99999999}``): a spec can ask for a
  gigabyte of padding from one short template.

What is left renders with ``str.format_map`` over the row's fields — the values are plain
strings, so nothing in a value is ever interpreted. A row without one of the fields is reported
by :meth:`Template.missing` (the rows layer makes it a row error naming the field and the row).
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from nusaworker.campaigns.errors import CampaignInputError

_FORMATTER = string.Formatter()


class Template:
    """A parsed, validated message template.

    ``Template("Hi {name}")`` raises :class:`~nusaworker.campaigns.errors.CampaignInputError`
    when the text is not a template this module accepts (see the module docstring).
    """

    __slots__ = ("fields", "text")

    def __init__(self, text: str) -> None:
        if not text.strip():
            raise CampaignInputError("the message template is empty")
        self.text = text
        #: The field names the template uses, in order of first use.
        self.fields: tuple[str, ...] = _fields(text)

    def missing(self, values: Mapping[str, str]) -> list[str]:
        """The template's fields that ``values`` lacks or holds only blanks for, in order.

        A blank counts as missing: an empty spreadsheet cell would otherwise send "Hi , …".
        """
        return [name for name in self.fields if not values.get(name, "").strip()]

    def render(self, values: Mapping[str, str]) -> str:
        """The text for one row. ``values`` must hold every field (see :meth:`missing`)."""
        if not self.fields:
            return self.text.replace("{{", "{").replace("}}", "}")
        return self.text.format_map(values)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def _fields(text: str) -> tuple[str, ...]:
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as exc:  # "Single '}' encountered", "unmatched '{'" …
        raise CampaignInputError(f"the message template does not parse: {exc}") from None
    names: dict[str, None] = {}
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        shown = "{" + name + "}"
        if not name:
            raise CampaignInputError("the message template has an empty field {}: name it")
        if not name.isidentifier():
            raise CampaignInputError(
                f"the message template's field {shown} is not a plain name "
                "(no positions, attributes or indexes)"
            )
        if conversion is not None or spec:
            raise CampaignInputError(
                f"the message template's field {{{name}}} has a conversion or format spec; "
                "only {name} is allowed"
            )
        names.setdefault(name, None)
    return tuple(names)
