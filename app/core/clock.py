""" "Today" in the registry's calendar (QCR_TIMEZONE, default Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt

from app.core.settings import get_settings


def today() -> dt.date:
    return dt.datetime.now(get_settings().zone).date()
