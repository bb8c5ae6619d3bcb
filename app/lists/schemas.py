"""List schemas: the publishing request, publications and their entries (SPEC §5)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.pagination import Page


class PublicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: dt.date | None = Field(
        default=None, description="valid date of the list (default: today); never after today"
    )
    note: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
        | None
    ) = None


class RedEntry(BaseModel):
    uscc: str
    name: str
    grade: str
    region_code: str


class BlackReason(BaseModel):
    case_no: str
    authority: str
    decided_on: dt.date
    public_summary: str


class BlackEntry(BaseModel):
    uscc: str
    name: str
    reasons: list[BlackReason] = Field(description="the violations behind rules S1 and S2")
    listed_since: dt.date | None = Field(description="continuously black-listed since")
    expected_exit: dt.date | None = Field(description="first day off the list, absent changes")


class PublicationSummary(BaseModel):
    """A publication without its entries (the list of publications, the feed)."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    number: int
    as_of: dt.date
    published_at: dt.datetime
    note: str | None
    entry_count: int
    sha256: str = Field(description="SHA-256 of the entries' canonical lines (SPEC §5)")
    audit_seq: int = Field(description="tree size of the witness: the audit tree head (SPEC §7)")
    audit_hash: str = Field(description="root hash of the witness tree head")
    audit_tree_head: dict[str, Any] | None = Field(
        description="the signed tree head covering every write committed before the "
        "publication; null for publications made before the Merkle log"
    )
    policy_version: str


class PublicationOut(PublicationSummary):
    entries: Page[RedEntry] | Page[BlackEntry]


class ChangedEntry(BaseModel):
    uscc: str
    before: RedEntry | BlackEntry
    after: RedEntry | BlackEntry


class DiffOut(BaseModel):
    kind: str
    number: int
    previous: int | None = Field(description="the publication compared against (null: none)")
    added: list[RedEntry] | list[BlackEntry]
    removed: list[RedEntry] | list[BlackEntry]
    changed: list[ChangedEntry]
