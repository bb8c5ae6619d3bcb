"""GS1 Digital Link URIs, checked against biip's GS1 Digital Link parser (pure)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from hypothesis import given
from hypothesis import strategies as st

from app.codes.digital_link import (
    CSET_82,
    DigitalLinkPath,
    InvalidDigitalLink,
    InvalidLot,
    InvalidSerial,
    batch_uri,
    item_uri,
    item_uris,
    parse_path,
    product_uri,
    validate_lot,
)
from app.identifiers.gtin import InvalidGtin

BASE = "https://qcr.example.org"
GTIN = "06901234567892"
SERIAL = "PGX7VNTREP7KUZQQOZUW"

lots = st.text(alphabet=sorted(CSET_82), min_size=1, max_size=20)


def _fields(uri: str) -> dict[str, str]:
    """The AI values biip finds in a Digital Link URI."""
    parsed = GS1DigitalLinkURI.parse(uri)
    return {element.ai.ai: element.value for element in parsed.element_strings}


def test_cset_82_has_82_characters() -> None:
    assert len(CSET_82) == 82
    assert " " not in CSET_82


def test_the_three_levels() -> None:
    assert product_uri(BASE, GTIN) == f"{BASE}/01/{GTIN}"
    assert batch_uri(BASE, GTIN, "L2024-03") == f"{BASE}/01/{GTIN}/10/L2024-03"
    assert item_uri(BASE, GTIN, "L2024-03", SERIAL) == f"{BASE}/01/{GTIN}/10/L2024-03/21/{SERIAL}"


def test_base_with_trailing_slash_or_path_prefix() -> None:
    assert product_uri(f"{BASE}/", GTIN) == f"{BASE}/01/{GTIN}"
    uri = item_uri(f"{BASE}/codes/", GTIN, "L1", SERIAL)
    assert uri == f"{BASE}/codes/01/{GTIN}/10/L1/21/{SERIAL}"
    assert _fields(uri) == {"01": GTIN, "10": "L1", "21": SERIAL}


@pytest.mark.parametrize(
    ("lot", "encoded"),
    [
        ("A/B-1%", "A%2FB-1%25"),
        ("!\"&'()*+,:;<=>?", "%21%22%26%27%28%29%2A%2B%2C%3A%3B%3C%3D%3E%3F"),
        ("a_b.c-D", "a_b.c-D"),  # unreserved characters stay as they are
    ],
)
def test_lots_are_percent_encoded(lot: str, encoded: str) -> None:
    assert batch_uri(BASE, GTIN, lot) == f"{BASE}/01/{GTIN}/10/{encoded}"


@pytest.mark.parametrize(
    "uri",
    [
        product_uri(BASE, GTIN),
        batch_uri(BASE, GTIN, "A/B-1%"),
        item_uri(BASE, GTIN, "A/B-1%", SERIAL),
        item_uri("http://localhost:8000", "00000073513537", "LOT?&=1", "X/Y%Z"),
    ],
)
def test_biip_reads_every_field(uri: str) -> None:
    fields = _fields(uri)
    path = parse_path(urlsplit(uri).path)
    assert fields["01"] == path.gtin14
    assert fields.get("10") == path.lot
    assert fields.get("21") == path.serial


@given(lot=lots, serial=lots)
def test_any_lot_and_serial_round_trip(lot: str, serial: str) -> None:
    uri = item_uri(BASE, GTIN, lot, serial)
    assert _fields(uri) == {"01": GTIN, "10": lot, "21": serial}
    # biip's own encoder agrees with ours, character for character.
    assert GS1DigitalLinkURI.parse(uri).as_uri(domain="qcr.example.org") == uri
    assert parse_path(uri.removeprefix(BASE)) == DigitalLinkPath(GTIN, lot, serial)


def test_item_uris_match_item_uri() -> None:
    serials = [SERIAL, "AAAAAAAAAAAAAAAAAAAA"]
    assert item_uris(BASE, GTIN, "L/1", serials) == [
        item_uri(BASE, GTIN, "L/1", serial) for serial in serials
    ]


@pytest.mark.parametrize(
    ("lot", "message"),
    [
        ("LOT 1", "character ' ' at position 4 is not allowed in a lot"),
        ("批次1", "character '批' at position 1 is not allowed in a lot"),
        ("L#1", "character '#' at position 2 is not allowed in a lot"),
        ("", "a lot has 1 to 20 characters, got 0"),
        ("L" * 21, "a lot has 1 to 20 characters, got 21"),
    ],
)
def test_invalid_lot_names_the_problem(lot: str, message: str) -> None:
    with pytest.raises(InvalidLot) as caught:
        validate_lot(lot)
    assert str(caught.value).startswith(message)


def test_invalid_serial_and_gtin() -> None:
    with pytest.raises(InvalidSerial, match="character '~' at position 1"):
        item_uri(BASE, GTIN, "L1", "~1")
    with pytest.raises(InvalidGtin, match="normalised GTIN-14"):
        product_uri(BASE, "6901234567892")
    with pytest.raises(InvalidGtin):
        product_uri(BASE, "06901234567893")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (f"/01/{GTIN}", DigitalLinkPath(GTIN, None, None)),
        ("/01/6901234567892/10/L1", DigitalLinkPath(GTIN, "L1", None)),  # GTIN-13 is padded
        ("/01/73513537", DigitalLinkPath("00000073513537", None, None)),
        (f"/01/{GTIN}/10/A%2fB/21/{SERIAL}", DigitalLinkPath(GTIN, "A/B", SERIAL)),
        (f"/01/{GTIN}/10/A!B", DigitalLinkPath(GTIN, "A!B", None)),  # sub-delims may stay raw
    ],
)
def test_parse_path(path: str, expected: DigitalLinkPath) -> None:
    assert parse_path(path) == expected


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/",
        "01/06901234567892",  # not absolute
        f"/01/{GTIN}/",  # trailing slash
        f"/01/{GTIN}/10",  # key without value
        f"/01/{GTIN}//L1",
        f"/01/{GTIN}/21/{SERIAL}",  # a serial needs its lot
        f"/01/{GTIN}/21/{SERIAL}/10/L1",  # wrong order
        f"/02/{GTIN}",
        f"/gtin/{GTIN}",
        "/01/06901234567893",  # check digit
        "/01/0690123456789",  # the GTIN-14 with its last digit missing
        "/01/１２３４５６７８",  # full-width digits are for forms, not URIs
        f"/01/{GTIN}/10/L%zz",  # malformed escape
        f"/01/{GTIN}/10/L%",
        f"/01/{GTIN}/10/L%FF",  # not UTF-8
        f"/01/{GTIN}/10/L%201",  # space is not in CSET 82
        f"/01/{GTIN}/10/L#1",
        f"/01/{GTIN}/10/{'L' * 21}",
        f"/01/{GTIN}/10/L1/21/{SERIAL}/22/X",
    ],
)
def test_parse_path_rejects_malformed_paths(path: str) -> None:
    with pytest.raises(InvalidDigitalLink):
        parse_path(path)


def test_parse_path_error_says_why() -> None:
    with pytest.raises(InvalidDigitalLink, match="check digit mismatch: expected 2, got 3"):
        parse_path("/01/06901234567893")
    with pytest.raises(InvalidDigitalLink, match="character ' ' at position 2"):
        parse_path(f"/01/{GTIN}/10/L%201")
