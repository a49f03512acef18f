"""Phone numbers normalised to E.164 digits without the ``+`` (``62812…``), as providers take them.

Two readers share the rules below: :class:`PhoneNormaliser` (a campaign's rows, every number
read as a person may write it) and :func:`provider_number` (the producer, the CLI and phone
checks: a number a backend hands in, where only a person's spelling is rewritten and a number
already in the provider's form is kept as written).

A campaign file holds numbers written by people: ``0812-3456-7890``, ``+62 812 3456 7890``,
``(0812) 345-678``, ``62812…``. :class:`PhoneNormaliser` turns each into one spelling, so that
duplicates are found and every provider gets the form it documents, or into an
:class:`InvalidPhone` with a typed reason — never an exception: a bad number is a row error.

Reading rules, after spaces, dashes, dots, slashes and brackets are dropped:

- ``+`` and digits: international, read as written.
- bare digits starting with ``0``: national, read in the default region (``0812…`` → ``62812…``);
  where the trunk prefix is a plain ``0``, it is first simply swapped for the country code.
- bare digits starting with the default region's country code: international first. This is the
  form nusaworker writes and the providers take; phonenumbers alone would read a short one as
  national (``62812345678`` → ``+62 62812345678``, a valid-looking landline), so a normalised
  number would not survive a second normalisation.
- other bare digits: national in the default region (a mobile written without its trunk ``0``,
  ``812…``), else international (another country's number written the way nusaworker writes it).
- anything else (letters, other scripts' digits, extensions): phonenumbers decides.

Why fast: acceptance must reach 10,000 rows/s, and ``phonenumbers.parse`` alone costs ~27 µs.
The common cases — already normalised (``62812…``, ``+62 812-…``) and national with a trunk
``0`` — never call it (a ``PhoneNumber`` is built from the digits and only validated, ~11 µs),
and every answer is kept in a bounded LRU cache, so a number repeated
across a file (or across the runs of a recurring campaign in one process) is normalised once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, ValidationResult

from nusaworker.errors import InvalidPhoneNumber, NusaWorkerError

__all__ = [
    "CACHE_SIZE",
    "InvalidPhone",
    "InvalidPhoneNumber",
    "PhoneNormaliser",
    "PhoneProblem",
    "UnknownRegion",
    "provider_number",
]

# Answers kept per normaliser. At ~250 bytes an entry this is ~2 MB at most: the repeats of a
# file are mostly near each other (the duplicate set catches the rest after one more reading).
CACHE_SIZE = 8_192

# Formatting people put in numbers; dropped before reading. Anything else (letters, "ext", other
# scripts) is left for phonenumbers.
_PUNCTUATION = str.maketrans("", "", " \t-.()/[]\u00a0\u2010\u2011\u2012\u2013\u2014")

# No E.164 number is longer than 15 digits; bare digits far past it are not read at all.
_MAX_DIGITS = 17


class UnknownRegion(NusaWorkerError, ValueError):
    """Raised when a default region is not an ISO 3166 alpha-2 code phonenumbers knows."""

    retryable = False


class PhoneProblem(StrEnum):
    """Why a destination is not a number the providers can take."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    UNKNOWN_COUNTRY_CODE = "unknown_country_code"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    INVALID = "invalid"


_TEXT = {
    PhoneProblem.EMPTY: "no destination",
    PhoneProblem.NOT_A_NUMBER: "not a phone number",
    PhoneProblem.UNKNOWN_COUNTRY_CODE: "unknown country code",
    PhoneProblem.TOO_SHORT: "too short to be a phone number",
    PhoneProblem.TOO_LONG: "too long to be a phone number",
    PhoneProblem.INVALID: "not a valid number",
}

_PARSE_PROBLEM = {
    NumberParseException.INVALID_COUNTRY_CODE: PhoneProblem.UNKNOWN_COUNTRY_CODE,
    NumberParseException.NOT_A_NUMBER: PhoneProblem.NOT_A_NUMBER,
    NumberParseException.TOO_SHORT_AFTER_IDD: PhoneProblem.TOO_SHORT,
    NumberParseException.TOO_SHORT_NSN: PhoneProblem.TOO_SHORT,
    NumberParseException.TOO_LONG: PhoneProblem.TOO_LONG,
}

_POSSIBLE_PROBLEM = {
    ValidationResult.INVALID_COUNTRY_CODE: PhoneProblem.UNKNOWN_COUNTRY_CODE,
    ValidationResult.TOO_SHORT: PhoneProblem.TOO_SHORT,
    # Dialable only inside its own area: not something a provider can deliver to.
    ValidationResult.IS_POSSIBLE_LOCAL_ONLY: PhoneProblem.TOO_SHORT,
    ValidationResult.TOO_LONG: PhoneProblem.TOO_LONG,
}


@dataclass(frozen=True, slots=True)
class InvalidPhone:
    """A destination refused: ``problem`` for code, ``region`` when the number had a country.

    ``str()`` is the reason a person reads, e.g. ``not a valid number for region ID``.
    """

    problem: PhoneProblem
    region: str | None = None

    def __str__(self) -> str:
        text = _TEXT[self.problem]
        if self.problem is PhoneProblem.INVALID and self.region:
            return f"{text} for region {self.region}"
        return text


class PhoneNormaliser:
    """Normalises destinations for one default region; one per campaign (or per process).

    ``normaliser("0812-3456-7890")`` → ``"6281234567890"``; a refused destination gives an
    :class:`InvalidPhone`. Thread-safe (the cache is ``functools.lru_cache``).

    Raises :class:`UnknownRegion` when ``region`` is not one phonenumbers knows.
    """

    def __init__(self, region: str = "ID", *, cache_size: int = CACHE_SIZE) -> None:
        region = region.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise UnknownRegion(f"unknown region {region!r} (an ISO 3166 alpha-2 code)")
        self.region = region
        self._country_code = str(phonenumbers.country_code_for_region(region))
        # Where the trunk prefix is a plain "0" (ID, MY, GB …), "0812…" is "62" + "812…": read
        # that way first, it skips the parser for the commonest spelling of a local number.
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        self._trunk_zero = (
            meta is not None
            and meta.national_prefix == "0"
            and meta.national_prefix_for_parsing in ("0", None)
            and meta.national_prefix_transform_rule is None
        )
        self._cached = lru_cache(maxsize=cache_size)(self._normalise)

    def __call__(self, raw: str) -> str | InvalidPhone:
        """E.164 digits without ``+`` for ``raw``, or why it is not a number."""
        return self._cached(raw)

    def _normalise(self, raw: str) -> str | InvalidPhone:
        text = raw.translate(_PUNCTUATION)
        if not text:
            return InvalidPhone(PhoneProblem.EMPTY)
        plus = text[0] == "+"
        digits = text[1:] if plus else text
        if not (digits.isascii() and digits.isdigit()):
            return _parsed(raw, self.region)
        if len(digits) > _MAX_DIGITS:
            return InvalidPhone(PhoneProblem.TOO_LONG)
        if plus:
            return _international(digits) or _parsed("+" + digits, None)
        if digits[0] == "0":
            if self._trunk_zero and digits[1:2] not in ("", "0"):  # "00…" may be an IDD
                fast = _international(self._country_code + digits[1:])
                if fast is not None:
                    return fast
            return _parsed(digits, self.region)
        if digits.startswith(self._country_code):
            return _international(digits) or _parsed(digits, self.region)
        national = _parsed(digits, self.region)
        if isinstance(national, str):
            return national
        return _international(digits) or national


def _international(digits: str) -> str | None:
    """``digits`` when they are a valid number as written (country code first), else None."""
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            if not national or national[0] == "0":
                # A leading zero kept in the national number (Italy) needs phonenumbers' own
                # reading; int() would drop it.
                return _valid_digits(digits)
            number = PhoneNumber(country_code=code, national_number=int(national))
            return digits if phonenumbers.is_valid_number(number) else None
    return None


def _valid_digits(digits: str) -> str | None:
    answer = _parsed("+" + digits, None)
    return answer if isinstance(answer, str) else None


def _parsed(text: str, region: str | None) -> str | InvalidPhone:
    """phonenumbers' own reading of ``text``: its E.164 digits, or the problem it found."""
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        return InvalidPhone(_PARSE_PROBLEM.get(exc.error_type, PhoneProblem.NOT_A_NUMBER))
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    possible = phonenumbers.is_possible_number_with_reason(number)
    problem = _POSSIBLE_PROBLEM.get(possible, PhoneProblem.INVALID)
    code = number.country_code
    where = phonenumbers.region_code_for_country_code(code) if code is not None else None
    region_name = where if where not in (None, "ZZ", "001") else None
    return InvalidPhone(problem, region_name)


# A number as a person writes it is short; anything longer is not read at all (the request
# model then refuses it by its own length bound).
_MAX_WRITTEN = 40


@lru_cache(maxsize=16)
def _normaliser(region: str) -> PhoneNormaliser:
    return PhoneNormaliser(region)


def provider_number(raw: str, *, region: str = "ID") -> str:
    """``raw`` in the provider's form, for a number a backend or an operator hands in.

    * ``+62 812-3456-7890``, ``(0812) 3456 7890``: spaces, dashes, dots, slashes and brackets
      are dropped; a leading ``+`` too (``+6281234567890`` → ``6281234567890``);
    * a national number (a leading trunk ``0``, or an IDD ``00…``): read in ``region`` as the
      campaign input reads it (``081234567890`` → ``6281234567890``). The provider documents
      ``085100803380`` as an unknown destination (seed 000, SMS status -13), so it is never sent
      as written: one that is not a valid number of ``region`` raises
      :class:`InvalidPhoneNumber`;
    * other digits are the provider's form already and are kept as written (``62812…``,
      ``12123388100``): their bounds are the request model's to check (8 to 15 digits).

    Anything that is not a string, or holds other characters, is returned unchanged for the
    request model to refuse with its own field name.
    """
    if not isinstance(raw, str) or len(raw) > _MAX_WRITTEN:
        return raw
    text = raw.translate(_PUNCTUATION)
    if text.startswith("+"):
        digits = text[1:]
        return digits if digits.isascii() and digits.isdigit() else raw
    if not (text.isascii() and text.isdigit()):
        return raw
    if not text.startswith("0"):
        return text
    answer = _normaliser(region.upper())(text)
    if isinstance(answer, InvalidPhone):
        raise InvalidPhoneNumber(
            f"{text} is a national number and {answer}: write it in international form "
            f"(country code first, e.g. 62812…)"
        )
    return answer
