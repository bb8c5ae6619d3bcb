"""GTINs (GS1 GTIN-8/12/13/14): normalisation and the GS1 mod-10 check digit.

Pure functions, no I/O. The check digit comes from python-stdnum: its
`stdnum.ean.calc_check_digit` weights the digits 3, 1, 3, … from the right, which
is exactly the GS1 mod-10 rule for every GTIN length. Its `validate` only says
*that* a number is wrong, though, and our clients are told *why* (which
character, which length, which check digit was expected), so the checks are ours.
"""

from __future__ import annotations

import functools
import unicodedata

from stdnum import ean

GTIN_LENGTHS = (8, 12, 13, 14)
# How the OpenAPI document describes a GTIN: the digits as a pattern and, as
# `format`, the GS1 check digit a pattern cannot express (a mismatch is a 422);
# all zeros passes mod 10 but is never allocated, so the pattern excludes it.
GTIN_SCHEMA = {
    "format": "gtin",
    "pattern": "^(?!0+$)(?:[0-9]{8}|[0-9]{12,14})$",
    "minLength": 8,
}
# Spaces and hyphens as printed under barcodes ("4 006381 333931"), including
# the no-break and ideographic spaces that NFKC leaves alone or maps to " ".
_STRIP = str.maketrans("", "", " \t\r\n-\u00a0\u3000")


class InvalidGtin(ValueError):
    """A malformed GTIN; the message says why, for the client."""


def gs1_check_digit(body: str) -> str:
    """The GS1 mod-10 check digit for `body` (a GTIN without its last digit)."""
    if not body.isascii() or not body.isdigit():
        raise InvalidGtin(f"a GTIN body is digits only, got {body!r}")
    return str(ean.calc_check_digit(body))


# A product's GTIN is checked several times per resolver scan (the path, the
# serial's tag, the answer's URIs); a valid one is remembered (a bounded LRU: a
# GTIN is one product, and an invalid one raises, which is never cached).
@functools.lru_cache(maxsize=65_536)
def normalise_gtin(raw: str) -> str:
    """Validate a GTIN-8/12/13/14 and return it as GTIN-14 (left-padded with zeros)."""
    code = unicodedata.normalize("NFKC", raw).translate(_STRIP)
    for position, char in enumerate(code, start=1):
        # isdigit() alone would let through other scripts' digits ("٣").
        if not ("0" <= char <= "9"):
            raise InvalidGtin(f"character {char!r} at position {position} is not a digit")
    if len(code) not in GTIN_LENGTHS:
        raise InvalidGtin(f"a GTIN has 8, 12, 13 or 14 digits, got {len(code)}")
    expected = gs1_check_digit(code[:-1])
    if code[-1] != expected:
        raise InvalidGtin(f"check digit mismatch: expected {expected}, got {code[-1]}")
    if code.strip("0") == "":
        # Passes mod 10, but GS1 never allocates it; it only shows up as a placeholder.
        raise InvalidGtin("a GTIN cannot be all zeros")
    return code.zfill(14)


def is_gtin14(value: str) -> bool:
    """True if `value` is already a valid, normalised GTIN-14."""
    try:
        return normalise_gtin(value) == value
    except InvalidGtin:
        return False


def make_gtin(body: str) -> str:
    """Append the check digit to a 7, 11, 12 or 13 digit body (for tests and the demo)."""
    if len(body) + 1 not in GTIN_LENGTHS:
        raise InvalidGtin(f"a GTIN body has 7, 11, 12 or 13 digits, got {len(body)}")
    return body + gs1_check_digit(body)
