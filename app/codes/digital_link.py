"""GS1 Digital Link URIs for products, batches and items (SPEC §6).

Codes live on the public base URL: `/01/{gtin14}` (product), `/01/{gtin14}/10/{lot}`
(batch) and `/01/{gtin14}/10/{lot}/21/{serial}` (item). Lots (AI 10) and serials
(AI 21) are 1–20 characters of the GS1 AI encodable character set 82; in the
path every character outside the URI "unreserved" set (`A-Z a-z 0-9 - . _ ~`)
is percent-encoded, as GS1 Digital Link URI syntax requires (`/` is `%2F`,
`%` is `%25`, …), so a lot such as `A/B` stays one path segment.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from typing import NamedTuple
from urllib.parse import quote, unquote

from app.identifiers.gtin import InvalidGtin, is_gtin14, normalise_gtin

# GS1 General Specifications, figure 7.11-1: the 82 characters AI values of type
# "X" (lot, serial) may use. Space is not among them.
CSET_82 = frozenset("!\"%&'()*+,-./:;<=>?_" + string.digits + string.ascii_letters)
MAX_AI_VALUE_LENGTH = 20  # AI 10 and AI 21 are both X..20
# A lot or a serial in the OpenAPI document: exactly what `_check_cset82` accepts.
CSET_82_SCHEMA = {
    "pattern": f"^[A-Za-z0-9!\"%&'()*+,./:;<=>?_-]{{1,{MAX_AI_VALUE_LENGTH}}}$",
    "minLength": 1,
    "maxLength": MAX_AI_VALUE_LENGTH,
}

GTIN_AI, LOT_AI, SERIAL_AI = "01", "10", "21"
# An RFC 3986 path segment: pchars and well-formed percent escapes, nothing else
# (a bare `%` or `%zz` would decode to something the sender did not mean).
_SEGMENT = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
_GTIN_SEGMENT = re.compile(r"[0-9]{8}|[0-9]{12,14}")


class InvalidLot(ValueError):
    """A lot (AI 10) that is not 1–20 characters of GS1 CSET 82."""


class InvalidSerial(ValueError):
    """A serial (AI 21) that is not 1–20 characters of GS1 CSET 82."""


class InvalidDigitalLink(ValueError):
    """A resolver path that is not one of our GS1 Digital Link forms."""


class DigitalLinkPath(NamedTuple):
    """What a resolver path names: a product, a batch (lot) or an item (lot and serial)."""

    gtin14: str
    lot: str | None
    serial: str | None


_CSET_82_VALUE = re.compile(
    "[" + re.escape("".join(sorted(CSET_82))) + f"]{{1,{MAX_AI_VALUE_LENGTH}}}"
)


def _check_cset82(value: str, what: str, error: type[ValueError]) -> str:
    if _CSET_82_VALUE.fullmatch(value):
        return value
    if not 1 <= len(value) <= MAX_AI_VALUE_LENGTH:
        raise error(f"a {what} has 1 to {MAX_AI_VALUE_LENGTH} characters, got {len(value)}")
    for position, char in enumerate(value, start=1):
        if char not in CSET_82:
            raise error(
                f"character {char!r} at position {position} is not allowed in a {what} "
                "(GS1 character set 82: A-Z a-z 0-9 and !\"%&'()*+,-./:;<=>?_)"
            )
    return value


def validate_lot(lot: str) -> str:
    """Return `lot` unchanged if it is a valid GS1 lot (AI 10), else raise InvalidLot."""
    return _check_cset82(lot, "lot", InvalidLot)


def validate_serial(serial: str) -> str:
    """Return `serial` unchanged if it is a valid GS1 serial (AI 21), else raise InvalidSerial."""
    return _check_cset82(serial, "serial", InvalidSerial)


def _encode(value: str) -> str:
    # safe="" so that "/" is encoded too; quote() never encodes the unreserved set.
    return quote(value, safe="")


def _product_path(base: str, gtin14: str) -> str:
    if not is_gtin14(gtin14):
        raise InvalidGtin(f"expected a normalised GTIN-14, got {gtin14!r}")
    return f"{base.rstrip('/')}/{GTIN_AI}/{gtin14}"


def product_uri(base: str, gtin14: str) -> str:
    """The product-level Digital Link URI `{base}/01/{gtin14}`."""
    return _product_path(base, gtin14)


def batch_uri(base: str, gtin14: str, lot: str) -> str:
    """The batch-level Digital Link URI `{base}/01/{gtin14}/10/{lot}`."""
    return f"{_product_path(base, gtin14)}/{LOT_AI}/{_encode(validate_lot(lot))}"


def item_uri(base: str, gtin14: str, lot: str, serial: str) -> str:
    """The item-level Digital Link URI `{base}/01/{gtin14}/10/{lot}/21/{serial}`."""
    return f"{batch_uri(base, gtin14, lot)}/{SERIAL_AI}/{_encode(validate_serial(serial))}"


def item_uris(base: str, gtin14: str, lot: str, serials: Iterable[str]) -> list[str]:
    """Item URIs for many serials of one batch, validating the shared part once (label CSV)."""
    prefix = f"{batch_uri(base, gtin14, lot)}/{SERIAL_AI}/"
    return [prefix + _encode(validate_serial(serial)) for serial in serials]


def _decode_segment(segment: str, what: str) -> str:
    if not _SEGMENT.fullmatch(segment):
        raise InvalidDigitalLink(f"the {what} segment {segment!r} is not a valid URI path segment")
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError as error:
        raise InvalidDigitalLink(f"the {what} segment {segment!r} is not UTF-8") from error


def parse_path(path: str) -> DigitalLinkPath:
    """Parse a raw (still percent-encoded) resolver path such as `/01/…/10/…/21/…`.

    Pass the raw path (ASGI `scope["raw_path"]`), not Starlette's decoded
    `request.url.path`: there a lot's `%2F` has already become a `/`.
    """
    segments = path.split("/")
    if segments[0] != "" or len(segments) not in (3, 5, 7):
        raise InvalidDigitalLink("expected /01/{gtin}[/10/{lot}[/21/{serial}]]")
    keys, values = segments[1::2], segments[2::2]
    if keys != [GTIN_AI, LOT_AI, SERIAL_AI][: len(keys)]:
        raise InvalidDigitalLink(
            f"expected the keys 01, 10, 21 in that order, got {'/'.join(keys)}"
        )

    # GS1 Digital Link allows GTIN-8/12/13 in the path; resolvers pad to 14.
    if not _GTIN_SEGMENT.fullmatch(values[0]):
        raise InvalidDigitalLink(f"the GTIN segment {values[0]!r} is not 8, 12, 13 or 14 digits")
    try:
        gtin14 = normalise_gtin(values[0])
        lot = validate_lot(_decode_segment(values[1], "lot")) if len(values) > 1 else None
        serial = validate_serial(_decode_segment(values[2], "serial")) if len(values) > 2 else None
    except (InvalidGtin, InvalidLot, InvalidSerial) as error:
        raise InvalidDigitalLink(str(error)) from error
    return DigitalLinkPath(gtin14, lot, serial)
