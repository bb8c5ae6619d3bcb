"""Schemas of the codes domain, named by audience."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.codes.digital_link import CSET_82_SCHEMA, InvalidLot, validate_lot
from app.core.clock import today
from app.core.dates import IsoDate
from app.core.types import PastDate, trimmed
from app.identifiers.gtin import GTIN_SCHEMA, InvalidGtin, normalise_gtin
from app.organizations.types import Uscc

MAX_CODES_PER_CALL = 100_000
MAX_REPORTS_PER_BATCH = 20
MAX_REPORT_ITEMS = 100
MAX_COMMENT = 500
MAX_CONTACT = 100

Line = Annotated[str, trimmed(min_length=1, max_length=200)]
Address = Annotated[str, trimmed(min_length=1, max_length=500)]
Paragraph = Annotated[str, trimmed(min_length=1, max_length=2000)]


def check_gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except InvalidGtin as exc:
        raise ValueError(str(exc)) from None


def check_lot(value: str) -> str:
    try:
        return validate_lot(value)
    except InvalidLot as exc:
        raise ValueError(str(exc)) from None


def _plausible(value: dt.date) -> dt.date:
    # Codes are often printed before the run: a production date up to a year ahead.
    if value.year < 1949 or value > today() + dt.timedelta(days=366):
        raise ValueError("must be between 1949 and one year from today")
    return value


Gtin = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(check_gtin),
    WithJsonSchema({"type": "string", "maxLength": 32, **GTIN_SCHEMA}),
]
Lot = Annotated[
    str,
    StringConstraints(max_length=64),
    AfterValidator(check_lot),
    WithJsonSchema({"type": "string", **CSET_82_SCHEMA}),
]
ProductionDate = Annotated[IsoDate, AfterValidator(_plausible)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- products ---------------------------------------------------------------------


class ProductCreate(Strict):
    gtin: Gtin = Field(description="GTIN-8/12/13/14 with its GS1 check digit; stored as GTIN-14")
    uscc: Uscc = Field(description="the producer; an enterprise key may only name its own")
    name: Line
    model: Line | None = None
    execution_standard: Line = Field(examples=["GB 19644-2010", "Q/ABC 0001S-2023"])
    factory_name: Line
    factory_address: Address
    category: Annotated[str, trimmed(min_length=1, max_length=40)] | None = Field(
        default=None, description="risk-signal category; default: the producer's industry class"
    )


class ProductOut(BaseModel):
    id: uuid.UUID
    gtin: str
    uscc: str
    producer_name: str
    name: str
    model: str | None
    execution_standard: str
    factory_name: str
    factory_address: str
    category: str
    uri: str = Field(description="the product-level GS1 Digital Link URI")
    created_at: dt.datetime
    created_by: uuid.UUID | None


# --- batches ----------------------------------------------------------------------


class InspectionReport(Strict):
    """A test report of the batch (出厂检验, 型式检验 or a third-party laboratory's)."""

    report_no: Line
    authority: Line = Field(description="the laboratory or inspection body")
    inspected_on: PastDate
    result: Literal["pass", "fail"]
    standard: Line | None = None
    items: Annotated[list[Line], Field(max_length=MAX_REPORT_ITEMS)] = Field(
        default=[], description="items tested"
    )
    failed_items: Annotated[list[Line], Field(max_length=MAX_REPORT_ITEMS)] = []
    conclusion: Paragraph | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.result == "pass" and self.failed_items:
            raise ValueError("a passed report has no failed_items")
        return self


class BatchCreate(Strict):
    lot: Lot = Field(description="GS1 AI 10: 1-20 characters of GS1 character set 82")
    produced_on: ProductionDate
    expires_on: IsoDate | None = None
    inspection_reports: Annotated[
        list[InspectionReport], Field(max_length=MAX_REPORTS_PER_BATCH)
    ] = []

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.expires_on is not None and self.expires_on < self.produced_on:
            raise ValueError("expires_on is before produced_on")
        if self.expires_on is not None and self.expires_on.year > 2199:
            raise ValueError("expires_on is implausibly far ahead")
        return self


class BatchOut(BaseModel):
    id: uuid.UUID
    gtin: str
    lot: str
    produced_on: dt.date
    expires_on: dt.date | None
    inspection_reports: list[InspectionReport]
    code_count: int = Field(description="item codes issued for this batch so far")
    uri: str = Field(description="the batch-level GS1 Digital Link URI")
    created_at: dt.datetime
    created_by: uuid.UUID | None


# --- item codes -------------------------------------------------------------------


def _integral(value: object) -> object:
    # JSON's integer includes 3.0 (JSON Schema says so); strings and booleans stay errors.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class CodeRequest(Strict):
    count: Annotated[StrictInt, Field(ge=1, le=MAX_CODES_PER_CALL), BeforeValidator(_integral)] = (
        Field(description=f"how many item codes to issue, 1 to {MAX_CODES_PER_CALL}")
    )


class IssuanceOut(BaseModel):
    id: uuid.UUID
    gtin: str
    lot: str
    count: int
    first_serial: str
    last_serial: str
    first_uri: str
    codes_csv: str = Field(description="this issuance's URIs, one a line")
    batch_code_count: int = Field(description="item codes of the batch after this issuance")
    created_at: dt.datetime
    created_by: uuid.UUID | None


class ItemCodeOut(BaseModel):
    gtin: str
    lot: str
    serial: str
    uri: str
    scan_count: int
    first_scanned_at: dt.datetime | None
    distinct_clients: int = Field(description="distinct clients seen, counted up to the threshold")
    suspicious: bool


# --- feedback ---------------------------------------------------------------------


def _blank_to_none(value: str | None) -> str | None:
    return value or None


Comment = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT),
    AfterValidator(_blank_to_none),
]
Contact = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_CONTACT),
    AfterValidator(_blank_to_none),
]


def _not_boolean(value: Any) -> Any:
    # Lax int parsing would read JSON `true` as 1; forms send "1".."5" as text.
    if isinstance(value, bool):
        raise ValueError("must be a whole number from 1 to 5, not a boolean")
    return value


class FeedbackCreate(Strict):
    rating: Annotated[int, Field(ge=1, le=5), BeforeValidator(_not_boolean)]
    comment: Comment | None = Field(default=None, description=f"at most {MAX_COMMENT} characters")
    complaint: bool = False
    contact: Contact | None = Field(
        default=None, description="private: only regulators ever see it"
    )


class FeedbackOut(BaseModel):
    id: uuid.UUID
    uscc: str
    gtin: str
    product_name: str
    lot: str | None
    serial: str | None
    rating: int
    comment: str | None
    complaint: bool
    created_at: dt.datetime


class FeedbackPrivileged(FeedbackOut):
    contact: str | None


# --- the resolver's JSON (SPEC §6), as the OpenAPI document describes it ----------


class ResolvedProduct(BaseModel):
    gtin: str
    name: str
    model: str | None
    execution_standard: str | None
    uri: str = Field(description="the product-level Digital Link URI")
    inspections: list[dict[str, Any]] = Field(description="the product's recent inspections")


class ResolvedProducer(BaseModel):
    uscc: str
    name: str
    address: str | None
    region_code: str | None
    status: str
    factory_name: str | None
    factory_address: str | None


class ResolvedBatch(BaseModel):
    lot: str
    produced_on: dt.date
    expires_on: dt.date | None
    inspection_reports: list[dict[str, Any]]
    uri: str = Field(description="the batch-level Digital Link URI")


class ResolvedItem(BaseModel):
    serial: str
    uri: str = Field(description="the item-level Digital Link URI")
    scan_count: int = Field(description="scans of this code, this one included")
    first_scanned_at: dt.datetime | None
    suspicious: bool = Field(description="scanned from more distinct clients than the threshold")


class FeedbackSummary(BaseModel):
    count: int
    average: float | None


class ResolverOut(BaseModel):
    """What the resolver answers as JSON: ongoing recalls first in importance."""

    product: ResolvedProduct
    producer: ResolvedProducer
    batch: ResolvedBatch | None = Field(description="batch and item codes")
    credit: dict[str, Any] = Field(description="grade, a_level, red_list, black_list, reasons, …")
    recalls: list[dict[str, Any]] = Field(description="ongoing recalls covering this code")
    item: ResolvedItem | None = Field(description="item codes: this scan counted")
    feedback: FeedbackSummary
