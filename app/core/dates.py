"""Dates and timestamps as the contract spells them, and nothing else (SPEC §8).

Pydantic's lax mode reads `0` and `1700000000` as dates (Unix time) and
`2026-01-05T00:00` as a date; a client that sends those has made a mistake we
should name, not guess at. `IsoDate` takes `YYYY-MM-DD` only, `IsoDateTime`
RFC 3339 only (a date, `T`, a time, an offset or `Z`). Values that already are
dates (from the database) pass. Used for every body field and query parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})"
)


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise ValueError("must be an ISO 8601 date, YYYY-MM-DD")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    raise ValueError("must be an RFC 3339 timestamp with an offset, e.g. 2026-01-05T08:00:00+08:00")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_rfc3339)]
