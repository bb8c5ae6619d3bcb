"""Records as the pure policy (app/policy) sees them: one conversion, used by the
credit engine's histories (app/credit/history.py) and by the records' own
publication-period check, so that the rule lives once and records need not
reach up into credit."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Mapping
from typing import Any

from app.core.models import fields
from app.policy import policy
from app.records import models

RowMap = Mapping[str, Any]


def as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def as_datetime(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_decimal(value: Any) -> decimal.Decimal | None:
    return None if value is None else decimal.Decimal(str(value))


def violation(row: RowMap) -> policy.Violation:
    # Versions recorded before policy v2 lack its fields: their defaults (SPEC §4.1).
    return policy.Violation(
        id=as_uuid(row["id"]),
        case_no=row["case_no"],
        authority=row["authority"],
        decided_on=as_date(row["decided_on"]) or dt.date.min,
        severity=row["severity"],
        rectified_on=as_date(row["rectified_on"]),
        revoked_on=as_date(row["revoked_on"]),
        repaired_on=as_date(row["repaired_on"]),
        public_summary=row["public_summary"],
        category=row.get("category") or "",
        procedure=row.get("procedure") or "ordinary",
        penalty_kinds=tuple(row.get("penalty_kinds") or ()),
        penalty_amount=as_decimal(row.get("penalty_amount")),
        restriction_until=as_date(row.get("restriction_until")),
        published_on=as_date(row.get("published_on")),
    )


VIOLATION_FIELDS = (
    "id",
    "case_no",
    "authority",
    "decided_on",
    "severity",
    "rectified_on",
    "revoked_on",
    "repaired_on",
    "public_summary",
    "category",
    "procedure",
    "penalty_kinds",
    "penalty_amount",
    "restriction_until",
    "published_on",
)


def violation_of(record: models.Violation) -> policy.Violation:
    """A stored violation as the policy sees it."""
    return violation(fields(record, VIOLATION_FIELDS))
