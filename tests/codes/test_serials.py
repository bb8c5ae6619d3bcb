"""Self-authenticating serials and the code secret they are keyed with (pure)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import stat
import threading
from base64 import b32encode
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.codes.digital_link import InvalidLot
from app.codes.secret import InvalidSecretFile, load_code_secret
from app.codes.serials import ALPHABET, SERIAL_LENGTH, issue_serials, verify_serial
from app.core.settings import Settings
from app.identifiers.gtin import InvalidGtin

SECRET = b"test-secret-0123456789abcdef"
GTIN = "09506000134352"
LOT = "LOT-1"
GENUINE = "PGX7VNTREP7KUZQQOZUW"  # issued for SECRET, GTIN and LOT


def test_serials_are_20_characters_of_0_9_a_z() -> None:
    for serial in issue_serials(SECRET, GTIN, LOT, 1000):
        assert len(serial) == SERIAL_LENGTH == 20
        assert set(serial) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_issued_serials_verify() -> None:
    issued = issue_serials(SECRET, GTIN, LOT, 1000)
    assert all(verify_serial(SECRET, GTIN, LOT, serial) for serial in issued)


def test_a_serial_issued_earlier_still_verifies() -> None:
    # Frozen vector: changing the tag format would turn every printed label into a forgery.
    assert verify_serial(SECRET, GTIN, LOT, GENUINE)


def test_the_tag_is_hmac_sha256_over_gtin_lot_and_random_part() -> None:
    serial = issue_serials(SECRET, GTIN, "A/B-1%", 1)[0]
    key = hmac.new(SECRET, b"qcr/serial-tag/v1", hashlib.sha256).digest()
    message = f"{GTIN}\0A/B-1%\0{serial[:13]}".encode()
    tag = b32encode(hmac.new(key, message, hashlib.sha256).digest()[:5]).decode()[:7]
    assert serial[13:] == tag


def test_serials_are_unique_within_a_call() -> None:
    issued = issue_serials(SECRET, GTIN, LOT, 20_000)
    assert len(set(issued)) == len(issued) == 20_000


def test_every_random_character_is_used_at_every_position() -> None:
    # 65 bits only if each of the 13 random positions is uniform over all 32 characters.
    issued = issue_serials(SECRET, GTIN, LOT, 10_000)
    for position in range(13):
        assert {serial[position] for serial in issued} == ALPHABET


def test_a_repeated_random_part_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    real = secrets.token_bytes
    draws: list[int] = []

    def first_draw_all_zero(n: int) -> bytes:
        draws.append(n)
        return bytes(n) if len(draws) == 1 else real(n)

    monkeypatch.setattr(secrets, "token_bytes", first_draw_all_zero)
    issued = issue_serials(SECRET, GTIN, LOT, 3)
    assert len(set(issued)) == 3
    assert issued[0].startswith("A" * 13)
    assert len(draws) == 2


def test_zero_serials_and_negative_counts() -> None:
    assert issue_serials(SECRET, GTIN, LOT, 0) == []
    with pytest.raises(ValueError, match="negative"):
        issue_serials(SECRET, GTIN, LOT, -1)


def test_issuing_checks_gtin_and_lot() -> None:
    with pytest.raises(InvalidGtin):
        issue_serials(SECRET, "9506000134352", LOT, 1)
    with pytest.raises(InvalidLot):
        issue_serials(SECRET, GTIN, "LOT 1", 1)


def test_100000_serials_in_one_call_are_distinct() -> None:
    # How fast is scripts/bench's business: a shared CI machine makes a time limit flaky.
    issued = issue_serials(SECRET, GTIN, LOT, 100_000)
    assert len(issued) == 100_000
    assert len(set(issued)) == 100_000


@pytest.mark.parametrize(
    ("secret", "gtin", "lot"),
    [
        (b"another-secret-0123456789", GTIN, LOT),
        (SECRET, "06901234567892", LOT),
        (SECRET, GTIN, "LOT-2"),
        (SECRET, GTIN, "lot-1"),
    ],
)
def test_a_serial_belongs_to_its_secret_gtin_and_lot(secret: bytes, gtin: str, lot: str) -> None:
    serial = issue_serials(SECRET, GTIN, LOT, 1)[0]
    assert not verify_serial(secret, gtin, lot, serial)


def test_changing_any_character_breaks_the_serial() -> None:
    serial = issue_serials(SECRET, GTIN, LOT, 1)[0]
    for position, char in enumerate(serial):
        for other in sorted(ALPHABET - {char}):
            forged = serial[:position] + other + serial[position + 1 :]
            assert not verify_serial(SECRET, GTIN, LOT, forged)


@pytest.mark.parametrize(
    "serial",
    [
        "",
        "PGX7VNTREP7KUZQQOZU",  # one short
        "PGX7VNTREP7KUZQQOZUWA",  # one long
        "pgx7vntrep7kuzqqozuw",  # lower case
        "PGX7VNTREP7KUZQQOZU0",  # 0 is not in the alphabet
        "PGX7VNTREP7KUZQQOZU%",
    ],
)
def test_malformed_serials_do_not_verify(serial: str) -> None:
    assert not verify_serial(SECRET, GTIN, LOT, serial)


def test_verify_with_a_malformed_gtin_or_lot_is_false() -> None:
    assert not verify_serial(SECRET, "not-a-gtin", LOT, GENUINE)
    assert not verify_serial(SECRET, GTIN, "", GENUINE)


@given(st.text(alphabet=sorted(ALPHABET), min_size=20, max_size=20))
def test_random_serials_are_forgeries(serial: str) -> None:
    # Hypothesis also draws the literals of this module, the genuine serial above among
    # them: a guess is random, so that one is no forgery.
    assume(serial != GENUINE)
    assert not verify_serial(SECRET, GTIN, LOT, serial)


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        issue_serials(b"", GTIN, LOT, 1)


# load_code_secret (app/codes/secret.py): the key behind every tag above.


def _settings(data_dir: Path, code_secret: str | None = None) -> Settings:
    return Settings(QCR_DATA_DIR=data_dir, QCR_CODE_SECRET=code_secret)


def test_the_configured_secret_wins(tmp_path: Path) -> None:
    assert (
        load_code_secret(_settings(tmp_path, "configured-secret-123")) == b"configured-secret-123"
    )
    assert not (tmp_path / "code_secret").exists()


def test_a_secret_file_is_made_once_and_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "data"
    first = load_code_secret(_settings(data_dir))
    path = data_dir / "code_secret"
    assert len(first) == 32
    assert path.read_text() == first.hex() + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_code_secret(_settings(data_dir)) == first
    assert [p.name for p in data_dir.iterdir()] == ["code_secret"]  # no temporary files left


def test_processes_starting_together_agree_on_the_secret(tmp_path: Path) -> None:
    starters = 8
    barrier = threading.Barrier(starters)
    results: list[bytes] = []

    def start() -> None:
        barrier.wait()
        results.append(load_code_secret(_settings(tmp_path)))

    threads = [threading.Thread(target=start) for _ in range(starters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == starters
    assert len(set(results)) == 1
    assert (tmp_path / "code_secret").read_text().strip() == results[0].hex()


def test_a_damaged_secret_file_is_an_error_not_a_new_secret(tmp_path: Path) -> None:
    (tmp_path / "code_secret").write_text("not hex\n")
    with pytest.raises(InvalidSecretFile, match="hex"):
        load_code_secret(_settings(tmp_path))
    (tmp_path / "code_secret").write_text("abcd\n")
    with pytest.raises(InvalidSecretFile, match="at least 16"):
        load_code_secret(_settings(tmp_path))
