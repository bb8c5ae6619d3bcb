"""Field types shared by several packages' schemas, validated once (STYLE 8)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from app.core.clock import today
from app.core.dates import IsoDate


def _not_future(value: dt.date) -> dt.date:
    if value > today():
        raise ValueError(f"{value.isoformat()} is in the future (today is {today().isoformat()})")
    if value.year < 1949:
        raise ValueError("dates before 1949 are not accepted")
    return value


# A date that has happened: today at the latest (QCR_TIMEZONE), 1949 at the earliest.
PastDate = Annotated[IsoDate, AfterValidator(_not_future)]


def trimmed(*, min_length: int, max_length: int) -> StringConstraints:
    """Text trimmed of surrounding whitespace, then `min_length` to `max_length`
    characters. A schema's `minLength` counts before the trim (`"  "` has two), so
    the document also says, as a `pattern`, that enough of it is not blank."""
    inner = "" if min_length < 2 else f"[\\s\\S]{{{min_length - 2},}}\\S"
    return StringConstraints(
        strip_whitespace=True,
        min_length=min_length,
        max_length=max_length,
        pattern=r"\S" + inner if min_length else None,
    )
