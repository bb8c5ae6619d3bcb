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

import contextlib
import os
import secrets
from pathlib import Path

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


def _create(path: Path) -> None:
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(SECRET_BYTES) + "\n")
            file.flush()
            os.fsync(file.fileno())
        # Atomic, and refuses to replace: the first writer wins and the others
        # (FileExistsError) read its secret.
        with contextlib.suppress(FileExistsError):
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)


def load_code_secret(settings: Settings) -> bytes:
    """The serial-tag secret: QCR_CODE_SECRET, else the data-dir file, created if absent."""
    if settings.code_secret:
        return settings.code_secret.encode("utf-8")
    path = settings.data_dir / FILE_NAME
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _create(path)
    return _read(path)
