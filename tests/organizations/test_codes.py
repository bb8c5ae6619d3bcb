"""The USCC and organization-code rules of SPEC §2, as pure functions."""

from __future__ import annotations

import pytest

from app.organizations.codes import (
    InvalidCode,
    make_uscc,
    normalise,
    org_code_check_char,
    parse_code,
    parse_uscc,
)

REAL = ["91110000600037341L", "91310115MA1K3BTP2B"]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_are_valid(code: str) -> None:
    assert parse_uscc(code) == code
    assert parse_code(code).kind == "uscc"


def test_full_width_spaces_and_hyphens_are_normalised() -> None:
    assert normalise("９１１１ ００００-６０００３７３４１ｌ") == "91110000600037341L"
    assert parse_uscc("９１１１００００６０００３７３４１Ｌ") == "91110000600037341L"


@pytest.mark.parametrize(
    "raw", ["600037341", "60003734-1", "６０００３７３４－１", " 60003734 - 1 "]
)
def test_legacy_organization_code(raw: str) -> None:
    parsed = parse_code(raw)
    assert parsed.kind == "org_code"
    assert parsed.value == "600037341"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("9111000060003734", "got 16 characters"),
        ("", "got 0 characters"),
        ("91110000600037341L1", "got 19 characters"),
    ],
)
def test_wrong_length(raw: str, message: str) -> None:
    with pytest.raises(InvalidCode, match=message):
        parse_code(raw)


def test_character_not_in_the_uscc_alphabet_is_named() -> None:
    with pytest.raises(InvalidCode, match=r"character 'O' at position 12 is not allowed"):
        parse_code("91110000600O37341L")
    with pytest.raises(InvalidCode, match=r"character 'I' at position 1"):
        parse_code("I1110000600037341L")


def test_division_code_must_be_digits() -> None:
    with pytest.raises(InvalidCode, match=r"position 3 .*division"):
        parse_code("91A10000600037341L")


def test_uscc_check_character_mismatch_names_the_expected_one() -> None:
    with pytest.raises(InvalidCode, match=r"check character mismatch: expected 'L', got 'X'"):
        parse_code("91110000600037341X")


def test_embedded_organization_code_check_is_enforced() -> None:
    # A USCC whose own check character is right but whose embedded code is not.
    body = "91110000" + "60003734" + "2"  # embedded check should be 1
    from app.organizations.codes import uscc_check_char

    code = body + uscc_check_char(body)
    with pytest.raises(
        InvalidCode, match=r"embedded organization code check character mismatch: expected '1'"
    ):
        parse_code(code)


def test_legacy_code_check_character_mismatch() -> None:
    with pytest.raises(InvalidCode, match=r"expected '1', got '2'"):
        parse_code("600037342")


def test_legacy_code_bad_character() -> None:
    with pytest.raises(InvalidCode, match=r"character '\*' at position 3"):
        parse_code("60*037341")


@pytest.mark.parametrize("authority", ["1", "5", "9", "Y", "N", "A"])
def test_registration_authority_letters_allowed_by_gb32100(authority: str) -> None:
    code = make_uscc(authority, "1", "110000", "MA1K3BTP")
    assert parse_uscc(code) == code


def test_gb11714_check_character_x_and_zero() -> None:
    # Search for bodies whose check is X and 0, then validate both ways.
    seen: dict[str, str] = {}
    for n in range(2000):
        body = f"{n:08d}"
        seen.setdefault(org_code_check_char(body), body)
    assert parse_code(seen["X"] + "X").value == seen["X"] + "X"
    assert parse_code(seen["0"] + "0").value == seen["0"] + "0"


def test_fast_check_sum_equals_stdnum() -> None:
    import random

    from stdnum.cn import uscc as stdnum_uscc

    from app.organizations.codes import USCC_ALPHABET, uscc_check_char

    rng = random.Random(5)
    for _ in range(20000):
        body = "".join(rng.choice(USCC_ALPHABET) for _ in range(17))
        assert uscc_check_char(body) == stdnum_uscc.calc_check_digit(body + "0")


def test_full_width_hyphen_and_ideographic_space_are_removed() -> None:
    assert normalise("９１１１\u3000００００－６０００３７３４１Ｌ") == "91110000600037341L"
