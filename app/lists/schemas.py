"""List schemas: the publishing request, publications and their entries (SPEC §5)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.core.dates import IsoDate
from app.core.pagination import Page
from app.core.types import trimmed


class PublicationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: IsoDate | None = Field(
        default=None, description="valid date of the list (default: today); never after today"
    )
    note: Annotated[str, trimmed(min_length=1, max_length=2000)] | None = None


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
    # Only on a correction publication (SPEC §9); absent otherwise.
    corrects: int | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="a correction publication: the number it corrects (SPEC §9)",
    )
    retracted: list[dict[str, Any]] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="a correction publication: the entries it retracts",
    )
    retraction_reason: str | None = Field(default=None, exclude_if=lambda v: v is None)


class RedactedEntry(BaseModel):
    """An entry line naming a violation past its publication period (SPEC §4.1)."""

    redacted: Literal[True]
    line_sha256: str


class PublicationOut(PublicationSummary):
    redacted: bool | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="a line names a violation past its publication period (SPEC §4.1)",
    )
    line_hashes: list[str] | None = Field(
        default=None,
        exclude_if=lambda v: v is None,
        description="redacted: SHA-256 of each line as first published, in order",
    )
    entries: Page[RedEntry | RedactedEntry] | Page[BlackEntry | RedactedEntry]


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
