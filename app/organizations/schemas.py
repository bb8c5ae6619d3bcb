from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.types import trimmed

Name = Annotated[str, trimmed(min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
# GB/T 4754: a section letter, optionally with a 2-4 digit division/group/class.
IndustryCode = Annotated[str, StringConstraints(pattern=r"^[A-T](\d{2}|\d{3}|\d{4})?$")]
Status = Literal["active", "deregistered"]


class OrganizationWrite(BaseModel):
    """Body of `PUT /v1/organizations/{code}`; the USCC comes from the path."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    address: Address | None = None
    region_code: RegionCode | None = Field(
        default=None, description="GB/T 2260 division; derived from the USCC when absent"
    )
    industry_code: IndustryCode | None = None
    legal_representative: Annotated[str, StringConstraints(max_length=100)] | None = None
    status: Status = "active"


class OrganizationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    org_code: str
    name: str
    address: str | None
    region_code: str
    industry_code: str | None
    status: Status
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganizationPrivileged(OrganizationPublic):
    legal_representative: str | None
    created_by: uuid.UUID | None
