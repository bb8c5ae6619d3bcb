"""structlog, JSON (orjson) by setting, with the request id in contextvars."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog


class StdoutLogger:
    """Writes each rendered line to the *current* sys.stdout (so that a replaced
    stdout, as in tests, receives it) and flushes: a line is never lost in a buffer."""

    def msg(self, message: bytes | str) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        out = sys.stdout
        out.write(text + "\n")
        out.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def _factory(*_: Any) -> StdoutLogger:
    return StdoutLogger()


def configure(json: bool = True, level: int = logging.INFO) -> None:
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=orjson.dumps)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_factory,
        cache_logger_on_first_use=True,
    )
    # uvicorn's access log prints the raw client address: we log our own line instead.
    logging.getLogger("uvicorn.access").disabled = True
    logging.getLogger("uvicorn.access").propagate = False
