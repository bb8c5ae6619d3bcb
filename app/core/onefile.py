"""A file made once by whichever process gets there first (SPEC §6).

Two processes starting at once must end up with the same content: each writes a
complete candidate to a private temporary file and hard-links it into place,
which fails if the name exists, so the first link wins and everyone reads the
winner. A reader never sees a half-written file, because the name only appears
once complete.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def ensure(path: Path, make: Callable[[], str]) -> None:
    """Create `path` (mode 0600) holding `make()` unless it exists; first writer wins."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(make() + "\n")
            file.flush()
            os.fsync(file.fileno())
        # Atomic, and refuses to replace: the first writer wins and the others
        # (FileExistsError) read its content.
        with contextlib.suppress(FileExistsError):
            os.link(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)
