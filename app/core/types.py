"""Field types shared by several packages' schemas, validated once (STYLE 8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

from app.core.clock import today


def _not_future(value: dt.date) -> dt.date:
    if value > today():
        raise ValueError(f"{value.isoformat()} is in the future (today is {today().isoformat()})")
    if value.year < 1949:
        raise ValueError("dates before 1949 are not accepted")
    return value


# A date that has happened: today at the latest (QCR_TIMEZONE), 1949 at the earliest.
PastDate = Annotated[dt.date, AfterValidator(_not_future)]
