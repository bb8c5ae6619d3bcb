"""Record schemas, named by audience: *Create, *Patch, *Public, *Privileged."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from app.core.dates import IsoDate
from app.core.types import PastDate, trimmed
from app.identifiers.gtin import GTIN_SCHEMA, InvalidGtin, normalise_gtin

Grade = Literal["AAA", "AA", "A", "B", "C", "D"]
Severity = Literal["minor", "general", "serious"]
InspectionResult = Literal["pass", "fail"]
RecallKind = Literal["voluntary", "ordered"]
RecallStatus = Literal["ongoing", "completed", "terminated"]
Procedure = Literal["ordinary", "summary"]
# SAMR Order 45 of 2021 art. 13, 14: the kinds of administrative penalty.
PenaltyKind = Literal[
    "warning",
    "criticism",
    "fine",
    "confiscation",
    "suspension",
    "licence_revoked",
    "restriction",
    "qualification_lowered",
]
PenaltyKinds = Annotated[list[PenaltyKind], Field(max_length=8)]

Line = Annotated[str, trimmed(min_length=1, max_length=200)]
Paragraph = Annotated[str, trimmed(min_length=1, max_length=4000)]
Lot = Annotated[str, trimmed(min_length=1, max_length=20)]
CENT = decimal.Decimal("0.01")
# Yuan and fen, never a float; always two places so that the stored and the
# echoed value agree.
Money = Annotated[
    decimal.Decimal,
    Field(ge=0, max_digits=16, decimal_places=2),
    AfterValidator(lambda d: d.quantize(CENT)),
    # The bound in the OpenAPI document too (pydantic leaves the string form unbounded).
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 99999999999999.99, "multipleOf": 0.01},
                {"type": "string", "pattern": r"^\d{1,14}(\.\d{1,2})?$", "maxLength": 17},
            ]
        }
    ),
]


def _gtin(value: str) -> str:
    try:
        return normalise_gtin(value)
    except InvalidGtin as exc:
        raise ValueError(str(exc)) from None


Gtin = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(_gtin),
    WithJsonSchema({"type": "string", "maxLength": 20, **GTIN_SCHEMA}),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    schema["minProperties"] = 1
    for name in getattr(model, "UNCLEARED", ()):
        field = schema["properties"][name]
        field.pop("default", None)
        kept = [branch for branch in field.pop("anyOf") if branch.get("type") != "null"]
        field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})


class StrictPatch(Strict):
    """A patch: at least one field (an empty one is a 422); the fields of `UNCLEARED`
    may be left out but not set to null. The document says both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)
    UNCLEARED: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _not_cleared(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("the patch is empty")
        for name in self.UNCLEARED:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be cleared")
        return self


def _after(later: dt.date | None, earlier: dt.date | None, message: str) -> None:
    if later is not None and earlier is not None and later < earlier:
        raise ValueError(message)


# --- grade assessments -------------------------------------------------------


class GradeCreate(Strict):
    grade: Grade
    assessed_on: PastDate
    valid_until: IsoDate | None = None
    authority: Line
    basis: Paragraph | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _after(self.valid_until, self.assessed_on, "valid_until is before assessed_on")
        return self


class RecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    uscc: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    disputed: bool = Field(
        default=False, description="under objection (异议处理中, SPEC §9); the record still counts"
    )


class PrivilegedOut(BaseModel):
    created_by: uuid.UUID | None


class GradePublic(RecordOut):
    grade: Grade
    assessed_on: dt.date
    valid_until: dt.date | None
    authority: str
    basis: str | None


class GradePrivileged(GradePublic, PrivilegedOut):
    pass


# --- violations ---------------------------------------------------------------


class ViolationCreate(Strict):
    case_no: Line
    authority: Line
    decided_on: PastDate
    category: Line
    severity: Severity
    description: Paragraph | None = Field(default=None, description="internal: never public")
    public_summary: Paragraph
    penalty_amount: Money | None = Field(default=None, description="CNY")
    rectified_on: PastDate | None = None
    procedure: Procedure = Field(default="ordinary", description="policy v2 (SPEC §4.1)")
    penalty_kinds: PenaltyKinds = Field(default=[], description="policy v2 (SPEC §4.1)")
    restriction_until: IsoDate | None = Field(
        default=None, description="the end of a `restriction` (policy v2)"
    )
    published_on: PastDate | None = Field(
        default=None, description="the day it was made public (default: the day it is recorded)"
    )

    @model_validator(mode="after")
    def _dates(self) -> Self:
        _after(self.rectified_on, self.decided_on, "rectified_on is before decided_on")
        _after(self.published_on, self.decided_on, "published_on is before decided_on")
        _after(self.restriction_until, self.decided_on, "restriction_until is before decided_on")
        if self.restriction_until is not None and "restriction" not in self.penalty_kinds:
            raise ValueError("restriction_until needs the penalty kind restriction")
        self.penalty_kinds = sorted(set(self.penalty_kinds))
        return self


class ViolationPatch(StrictPatch):
    """Rectify (`rectified_on`), revoke (`revoked_on` + `revoked_reason`) or correct fields."""

    rectified_on: PastDate | None = None
    revoked_on: PastDate | None = None
    revoked_reason: Paragraph | None = None
    decided_on: PastDate | None = None
    category: Line | None = None
    severity: Severity | None = None
    description: Paragraph | None = None
    public_summary: Paragraph | None = None
    penalty_amount: Money | None = None
    procedure: Procedure | None = None
    penalty_kinds: PenaltyKinds | None = None
    restriction_until: IsoDate | None = None
    published_on: PastDate | None = None

    UNCLEARED = (
        "decided_on",
        "category",
        "severity",
        "public_summary",
        "procedure",
        "penalty_kinds",
        "published_on",
    )

    @model_validator(mode="after")
    def _shape(self) -> Self:
        if ("revoked_on" in self.model_fields_set) != ("revoked_reason" in self.model_fields_set):
            raise ValueError("revoked_on and revoked_reason go together")
        return self


ViolationStatus = Literal["open", "rectified", "revoked", "repaired"]


class ViolationPublic(RecordOut):
    case_no: str
    authority: str
    decided_on: dt.date
    category: str
    severity: Severity
    public_summary: str
    penalty_amount: decimal.Decimal | None
    rectified_on: dt.date | None
    revoked_on: dt.date | None
    revoked_reason: str | None
    repaired_on: dt.date | None
    status: ViolationStatus
    procedure: Procedure = "ordinary"
    penalty_kinds: list[str] = []
    restriction_until: dt.date | None = None
    published_on: dt.date | None = None
    published_late: bool = False


class ViolationPrivileged(ViolationPublic, PrivilegedOut):
    description: str | None


# --- inspections -----------------------------------------------------------------


class InspectionCreate(Strict):
    report_no: Line
    authority: Line
    inspected_on: PastDate
    product_name: Line
    gtin: Gtin | None = None
    lot: Lot | None = None
    standard: Line
    result: InspectionResult
    failed_items: Annotated[list[Line], Field(max_length=100)] = []
    rectified_on: PastDate | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _after(self.rectified_on, self.inspected_on, "rectified_on is before inspected_on")
        if self.result == "pass" and (self.rectified_on or self.failed_items):
            raise ValueError("a passed inspection has no failed_items and no rectified_on")
        return self


class InspectionPatch(StrictPatch):
    rectified_on: PastDate | None = None
    product_name: Line | None = None
    standard: Line | None = None
    failed_items: Annotated[list[Line], Field(max_length=100)] | None = None


class InspectionPublic(RecordOut):
    report_no: str
    authority: str
    inspected_on: dt.date
    product_name: str
    gtin: str | None
    lot: str | None
    standard: str
    result: InspectionResult
    failed_items: list[str]
    rectified_on: dt.date | None


class InspectionPrivileged(InspectionPublic, PrivilegedOut):
    pass


# --- recalls -------------------------------------------------------------------------


class RecallCreate(Strict):
    recall_no: Line
    product_name: Line
    gtin: Gtin | None = None
    lots: Annotated[list[Lot], Field(min_length=1, max_length=1000)] | None = Field(
        default=None, description="absent: every lot"
    )
    initiated_on: PastDate
    kind: RecallKind
    hazard_class: Literal[1, 2, 3]
    units: Annotated[int, Field(ge=0, le=10**9)] | None = None
    remedy: Paragraph
    status: RecallStatus = "ongoing"


class RecallPatch(StrictPatch):
    status: RecallStatus | None = None
    units: Annotated[int, Field(ge=0, le=10**9)] | None = None
    remedy: Paragraph | None = None
    lots: Annotated[list[Lot], Field(min_length=1, max_length=1000)] | None = None
    hazard_class: Literal[1, 2, 3] | None = None

    UNCLEARED = ("status",)


class RecallPublic(RecordOut):
    recall_no: str
    product_name: str
    gtin: str | None
    lots: list[str] | None
    initiated_on: dt.date
    kind: RecallKind
    hazard_class: int
    units: int | None
    remedy: str
    status: RecallStatus


class RecallPrivileged(RecallPublic, PrivilegedOut):
    pass


# --- history -----------------------------------------------------------------------------


class VersionOut(BaseModel):
    version: int
    change: str
    recorded_at: dt.datetime
    recorded_by: uuid.UUID | None
    recorded_role: str
    data: dict[str, Any]
