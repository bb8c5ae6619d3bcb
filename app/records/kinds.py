"""The four record kinds, described once so that one service serves them all."""

from __future__ import annotations

from dataclasses import dataclass

from app.records import models, schemas


@dataclass(frozen=True)
class Kind:
    name: str  # record_type in versions, audit entity, event prefix
    plural: str  # path segment
    model: type[models.OrganizationRecord]
    public: type[schemas.RecordOut]
    privileged: type[schemas.RecordOut]
    date_field: str  # newest first, and the from/to filter
    natural_key: tuple[str, ...]  # unique: a duplicate is 409


GRADE = Kind(
    "grade_assessment",
    "grades",
    models.GradeAssessment,
    schemas.GradePublic,
    schemas.GradePrivileged,
    "assessed_on",
    (),
)
VIOLATION = Kind(
    "violation",
    "violations",
    models.Violation,
    schemas.ViolationPublic,
    schemas.ViolationPrivileged,
    "decided_on",
    ("authority", "case_no"),
)
INSPECTION = Kind(
    "inspection",
    "inspections",
    models.Inspection,
    schemas.InspectionPublic,
    schemas.InspectionPrivileged,
    "inspected_on",
    ("authority", "report_no"),
)
RECALL = Kind(
    "recall",
    "recalls",
    models.Recall,
    schemas.RecallPublic,
    schemas.RecallPrivileged,
    "initiated_on",
    ("recall_no",),
)
KINDS = {kind.plural: kind for kind in (GRADE, VIOLATION, INSPECTION, RECALL)}
