from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class ChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    type: str
    uscc: str
    at: dt.datetime
    data: dict[str, Any]
