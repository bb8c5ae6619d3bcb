"""structlog, JSON (orjson) by setting, with the request id in contextvars."""

from __future__ import annotations

import datetime as dt
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


_ACCESS = structlog.get_logger("qcr.request")
_rendered_here = True  # JSON at INFO: `access` renders its line itself


def access(request_id: str, method: str, route: str, status: int, duration_ms: float) -> None:
    """The `request_completed` line, one per request: what structlog renders with the
    processors below (same keys, same order, same timestamp format), without running
    them — it is the one line every request writes. Any other configuration goes
    through structlog."""
    if not _rendered_here:
        _ACCESS.info(
            "request_completed", method=method, route=route, status=status, duration_ms=duration_ms
        )
        return
    stamp = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
    line = {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": duration_ms,
        "event": "request_completed",
        "request_id": request_id,
        "level": "info",
        "timestamp": stamp,
    }
    _OUT.msg(orjson.dumps(line))


_OUT = StdoutLogger()


def configure(json: bool = True, level: int = logging.INFO) -> None:
    global _rendered_here
    _rendered_here = json and level <= logging.INFO
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
