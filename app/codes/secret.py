"""The code secret that keys serial tags (SPEC §6).

`QCR_CODE_SECRET` wins when set. Otherwise the secret lives in
`<data_dir>/code_secret` (64 hex characters, mode 0600), made on first start.
Two processes starting at once must end up with the same secret, or serials
issued by one would be forgeries to the other: each writes a complete candidate
to a private temporary file and hard-links it into place, which fails if the
name exists, so the first link wins and everyone reads the winner. A reader
never sees a half-written file, because the name only appears once complete.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from app.core import onefile
from app.core.settings import Settings

FILE_NAME = "code_secret"
SECRET_BYTES = 32


class InvalidSecretFile(ValueError):
    """The secret file exists but does not hold a hex-encoded secret."""


def _read(path: Path) -> bytes:
    text = path.read_text(encoding="ascii").strip()
    try:
        secret = bytes.fromhex(text)
    except ValueError as error:
        raise InvalidSecretFile(f"{path} does not hold a hex-encoded secret") from error
    if len(secret) < 16:
        raise InvalidSecretFile(f"{path} holds {len(secret)} bytes; at least 16 are needed")
    return secret


def load_code_secret(settings: Settings) -> bytes:
    """The serial-tag secret: QCR_CODE_SECRET, else the data-dir file, created if absent."""
    if settings.code_secret:
        return settings.code_secret.encode("utf-8")
    path = settings.data_dir / FILE_NAME
    onefile.ensure(path, lambda: secrets.token_hex(SECRET_BYTES))
    return _read(path)
