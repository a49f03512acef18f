"""Hypothesis strategies for bad input at the edges (tests/fuzz; hypothesis is a dev dependency).

Each strategy mixes what a careless or hostile caller hands in — wrong types, empty, huge and
odd strings (control characters, lone surrogates are left out: hypothesis never draws them, and
Python callers rarely can), numbers in every spelling, broken UUIDs — with well-formed values,
so that a run both refuses and accepts, and an accepted value is checked as a ledger record.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "anything",
    "broken_bodies",
    "huge",
    "numbers",
    "odd_text",
    "texts",
    "tokens",
    "uuids",
    "weighted",
]

# Characters that break things: controls (C0, DEL, C1), line breaks, the GSM-7 escapes, wide
# characters and emoji, bidi controls, a BOM.
_ODD = "\x00\x01\x07\x08\x0b\x0c\x1b\x7f\x80\x85\x9f\n\r\t{}[]~|€^\\😀ж中\u200f\u202e\ufeff\u00a0"


def weighted(percent: int, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """``good`` about ``percent`` times in a hundred, else ``bad`` (``one_of`` would pick each
    branch alike, and an edge fuzzed with junk alone never tests what it accepts)."""
    return st.integers(0, 99).flatmap(lambda n: good if n < percent else bad)


def huge(min_size: int = 1_000, max_size: int = 20_000) -> st.SearchStrategy[str]:
    """A long run of one character (or a short pattern): cheap to draw, large to refuse."""
    return st.builds(
        lambda piece, n: (piece * (n // max(1, len(piece)) + 1))[:n],
        st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=4),
        st.integers(min_size, max_size),
    )


def odd_text(max_size: int = 200) -> st.SearchStrategy[str]:
    """Short text full of control characters and wide ones."""
    return st.text(alphabet=st.sampled_from(_ODD) | st.characters(codec="utf-8"), max_size=max_size)


def texts() -> st.SearchStrategy[Any]:
    """A message text: plain, odd, huge, near the bounds, or not a string at all."""
    plain = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"]), max_size=300)
    near = st.sampled_from([159, 160, 161, 670, 671, 1500, 1530, 1531, 4096, 4097]).map(
        lambda n: "a" * n
    )
    # Well-formed values often enough that a run accepts as well as refuses.
    return weighted(75, plain, st.one_of(odd_text(), huge(), near, wrong_types()))


def wrong_types() -> st.SearchStrategy[Any]:
    """Values of the wrong type for a text or a number field."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.binary(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )


def numbers() -> st.SearchStrategy[Any]:
    """Phone numbers as people write them, as the provider wants them, and as they must not be."""
    good = st.sampled_from(
        [
            "6281234567890",
            "+62 812-3456-7890",
            "0812 3456 7890",
            "081234567890",
            "(0812) 3456-7890",
            "62812.3456.7890",
            "12123388100",
            "+4915752982212",
        ]
    )
    digits = st.text(alphabet="0123456789", min_size=0, max_size=20)
    spelled = st.builds(
        lambda prefix, body, sep: prefix + sep.join([body[:4], body[4:8], body[8:]]),
        st.sampled_from(["", "+", "0", "62", "+62", "00", "++"]),
        digits,
        st.sampled_from(["", " ", "-", ".", "\t", "\n", "/", "x"]),
    )
    return weighted(
        75, good, st.one_of(spelled, digits, odd_text(40), huge(100, 5_000), wrong_types())
    )


def uuids() -> st.SearchStrategy[Any]:
    """UUID4s, other UUID versions, near-UUIDs and junk."""
    valid = st.uuids(version=4).map(str)
    return weighted(
        75,
        valid,
        st.one_of(
            st.uuids(version=1).map(str),
            st.builds(lambda u: u[:-1], valid),
            st.builds(lambda u: u.upper() + "\x00", valid),
            st.text(max_size=40),
            wrong_types(),
        ),
    )


def anything() -> st.SearchStrategy[Any]:
    """Any value at all, for an extra keyword."""
    return st.one_of(texts(), wrong_types())


def tokens(good: str) -> st.SearchStrategy[str]:
    """The callback token, one near it, or junk (never a ``/``: it ends the path segment)."""
    return weighted(
        70,
        st.just(good),
        st.one_of(
            st.just(good[:-1]),
            st.just(good + "x"),
            st.just(""),
            st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), max_size=40),
        ),
    )


def broken_bodies() -> st.SearchStrategy[bytes]:
    """Bodies a receiver must survive: JSON good and broken, deep, huge numbers, forms, XML."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
        max_leaves=12,
    )
    return st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=300),
        st.integers(1, 5_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 5_000).map(lambda n: b'{"ref_no": ' + b"9" * n + b"}"),
        st.sampled_from([b"NaN", b"Infinity", b'{"a": NaN}', b"\xff\xfe", b"{", b"<x>", b""]),
        st.text(max_size=200).map(lambda t: t.encode("utf-8")),
        st.builds(
            lambda k, v: f"{k}={v}".encode(errors="surrogatepass"),
            st.text(max_size=10),
            st.text(max_size=50),
        ),
        st.sampled_from(
            [
                b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>",
                b'--b\r\nContent-Disposition: form-data; name="id"\r\n\r\n1\r\n--b--\r\n',
                b"--b\r\nContent-Disposition: form-data; name*=bogus''%ff\r\n\r\nx\r\n--b--",
                b"--b\r\nContent-Type: text/plain; charset=nonesuch\r\n"
                b'Content-Disposition: form-data; name="msg"\r\n\r\nx\r\n--b--',
            ]
        ),
    )
