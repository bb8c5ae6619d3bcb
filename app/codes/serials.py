"""Self-authenticating item serials (SPEC §6): random part plus keyed tag.

A serial is 20 characters: 13 random characters followed by a 7-character tag,
both in the RFC 4648 base32 alphabet (`A-Z2-7`, a subset of the `0-9A-Z` the
spec allows; it leaves out `0`, `1` and `8`, so nobody reads `O`/`0`, `I`/`1`
or `B`/`8` wrong off a label).

- 13 base32 characters carry 65 bits from `secrets`: unguessable (spec: ≥ 60).
- The tag is the first 35 bits of HMAC-SHA256 over (GTIN-14, lot, random part)
  under a key derived from `QCR_CODE_SECRET`, so the resolver rejects a forged
  serial with no database read: a guess passes with probability 2⁻³⁵.

Pure functions, no I/O. Uniqueness across calls is the database's job (a
unique constraint); within one call it is checked here.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from base64 import b32encode

from app.codes.digital_link import validate_lot
from app.identifiers.gtin import InvalidGtin, is_gtin14

RANDOM_LENGTH = 13  # 13 x 5 = 65 random bits
TAG_LENGTH = 7  # 7 x 5 = 35 bits of tag
SERIAL_LENGTH = RANDOM_LENGTH + TAG_LENGTH
ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_TAG_BYTES = 5  # base32 turns 5 bytes into 8 characters; the first 7 hold 35 bits
# Domain separation: the same QCR_CODE_SECRET may key other things (e.g. scan
# hashes), so serial tags use their own derived key.
_KEY_LABEL = b"qcr/serial-tag/v1"


@functools.lru_cache(maxsize=8)  # one secret per deployment (a few in tests)
def _tag_key(secret: bytes) -> bytes:
    if not secret:
        raise ValueError("the code secret is empty")
    return hmac.digest(secret, _KEY_LABEL, "sha256")


def _message_prefix(gtin14: str, lot: str) -> bytes:
    # NUL cannot occur in a GTIN or a CSET 82 lot, so the fields cannot run into
    # each other ("A" + "1B" vs "A1" + "B").
    if not is_gtin14(gtin14):
        raise InvalidGtin(f"expected a normalised GTIN-14, got {gtin14!r}")
    return f"{gtin14}\0{validate_lot(lot)}\0".encode("ascii")


def _tag_text(digests: bytes, count: int) -> list[str]:
    # One b32encode over all the truncated digests: 8 characters per serial.
    text = b32encode(digests).decode("ascii")
    return [text[i * 8 : i * 8 + TAG_LENGTH] for i in range(count)]


def issue_serials(secret: bytes, gtin14: str, lot: str, count: int) -> list[str]:
    """Issue `count` distinct serials for one batch, each verifiable with `verify_serial`."""
    if count < 0:
        raise ValueError(f"count must not be negative, got {count}")
    template = hmac.new(_tag_key(secret), _message_prefix(gtin14, lot), hashlib.sha256)

    randoms: list[bytes] = []
    seen: set[bytes] = set()
    while len(randoms) < count:
        # One draw for the whole batch: b32encode of random bytes gives independent
        # uniform base32 characters, cut into 13-character parts.
        missing = count - len(randoms)
        chars = RANDOM_LENGTH * missing
        blob = b32encode(secrets.token_bytes(-(-chars // 8) * 5))
        for start in range(0, chars, RANDOM_LENGTH):
            part = blob[start : start + RANDOM_LENGTH]
            if part not in seen:  # a repeat needs ~2³² serials in one call; just redraw
                seen.add(part)
                randoms.append(part)

    # The key and the GTIN/lot prefix are absorbed once; each serial costs a copy.
    copy = template.copy
    digests = []
    for part in randoms:
        mac = copy()
        mac.update(part)
        digests.append(mac.digest()[:_TAG_BYTES])
    tags = _tag_text(b"".join(digests), count)
    return [part.decode("ascii") + tag for part, tag in zip(randoms, tags, strict=True)]


def verify_serial(secret: bytes, gtin14: str, lot: str, serial: str) -> bool:
    """True if `serial` was issued for this GTIN-14 and lot under `secret` (no database)."""
    if len(serial) != SERIAL_LENGTH or not ALPHABET.issuperset(serial):
        return False
    try:
        prefix = _message_prefix(gtin14, lot)
    except ValueError:
        return False
    random_part, tag = serial[:RANDOM_LENGTH], serial[RANDOM_LENGTH:]
    digest = hmac.digest(_tag_key(secret), prefix + random_part.encode("ascii"), "sha256")
    expected = _tag_text(digest[:_TAG_BYTES], 1)[0]
    return hmac.compare_digest(expected, tag)
