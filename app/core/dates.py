"""Dates and timestamps as the contract spells them, and nothing else (SPEC §8).

Pydantic's lax mode reads `0` and `1700000000` as dates (Unix time) and
`2026-01-05T00:00` as a date; a client that sends those has made a mistake we
should name, not guess at. `IsoDate` takes `YYYY-MM-DD` only; values that
already are dates (from the database) pass. Used for every date of a body or a
query. (Timestamps: the one query that takes one, `known_at`, is parsed by the
credit lookup, app/credit/lookup.py.)
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value):
        return value
    raise ValueError("must be an ISO 8601 date, YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
