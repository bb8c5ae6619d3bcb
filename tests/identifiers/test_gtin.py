"""GTIN normalisation and the GS1 mod-10 check digit (pure)."""

from __future__ import annotations

import pytest
from biip.checksums import gs1_standard_check_digit
from hypothesis import given
from hypothesis import strategies as st

from app.identifiers.gtin import InvalidGtin, gs1_check_digit, is_gtin14, make_gtin, normalise_gtin


@pytest.mark.parametrize(
    ("raw", "gtin14"),
    [
        ("73513537", "00000073513537"),  # GTIN-8
        ("614141123452", "00614141123452"),  # GTIN-12 (UPC-A)
        ("9780471117094", "09780471117094"),  # GTIN-13
        ("6901234567892", "06901234567892"),  # GTIN-13, GS1 China prefix
        ("98412345678908", "98412345678908"),  # GTIN-14
    ],
)
def test_every_gtin_length_becomes_gtin14(raw: str, gtin14: str) -> None:
    assert normalise_gtin(raw) == gtin14


@pytest.mark.parametrize(
    "raw",
    [
        "９７８０４７１１１７０９４",
        " 978 0471 11709 4 ",
        "978-0-471-11709-4",
        "9780471\u3000117094",
    ],
)
def test_full_width_digits_spaces_and_hyphens_are_normalised(raw: str) -> None:
    assert normalise_gtin(raw) == "09780471117094"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9780471117093", "check digit mismatch: expected 4, got 3"),
        ("1234567890", "a GTIN has 8, 12, 13 or 14 digits, got 10"),
        ("", "a GTIN has 8, 12, 13 or 14 digits, got 0"),
        ("97x0471117094", "character 'x' at position 3 is not a digit"),
        ("978047111709٤", "character '٤' at position 13 is not a digit"),
        ("00000000", "a GTIN cannot be all zeros"),
    ],
)
def test_invalid_gtin_says_why(raw: str, message: str) -> None:
    with pytest.raises(InvalidGtin) as caught:
        normalise_gtin(raw)
    assert str(caught.value) == message


def test_invalid_gtin_is_a_value_error() -> None:
    assert issubclass(InvalidGtin, ValueError)


def test_is_gtin14_only_accepts_the_normalised_form() -> None:
    assert is_gtin14("09780471117094")
    assert not is_gtin14("9780471117094")
    assert not is_gtin14("09780471117093")


def test_make_gtin_appends_the_check_digit() -> None:
    assert make_gtin("978047111709") == "9780471117094"
    assert make_gtin("690123456789") == "6901234567892"
    with pytest.raises(InvalidGtin, match="7, 11, 12 or 13 digits, got 5"):
        make_gtin("12345")


def test_check_digit_rejects_non_digits() -> None:
    with pytest.raises(InvalidGtin):
        gs1_check_digit("12a4567")


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_check_digit_agrees_with_biip(body: str) -> None:
    assert gs1_check_digit(body) == str(gs1_standard_check_digit(body))


@given(
    st.sampled_from([7, 11, 12, 13]).flatmap(
        lambda n: st.text("0123456789", min_size=n, max_size=n)
    )
)
def test_made_gtins_normalise_to_gtin14(body: str) -> None:
    gtin = make_gtin(body)
    if gtin.strip("0"):
        assert normalise_gtin(gtin) == gtin.zfill(14)


@given(
    st.text(alphabet="0123456789", min_size=13, max_size=13),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_error_is_caught(body: str, position: int, delta: int) -> None:
    gtin = make_gtin(body)
    wrong = str((int(gtin[position]) + delta) % 10)
    with pytest.raises(InvalidGtin, match="check digit mismatch"):
        normalise_gtin(gtin[:position] + wrong + gtin[position + 1 :])
