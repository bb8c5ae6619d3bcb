"""Inputs of policy `v2` that are not records of the organization itself
(SPEC §4.1, §9, §10): substantiated complaints (C1), notices served before a
black listing, and objections. The credit service obtains them through providers
registered at start-up, so that the packages that keep them sit above credit."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ComplaintFact:
    """A substantiated complaint about the organization's product (C1)."""

    substantiated_on: dt.date
    gtin: str | None
    lot: str | None
    category: str
    recorded_at: dt.datetime | None = None
    id: uuid.UUID | None = None

    @property
    def cluster(self) -> tuple[str | None, str | None, str]:
        """Identical complaints (same producer, GTIN, lot and category) count once."""
        return (self.gtin, self.lot, self.category)


@dataclass(frozen=True, slots=True)
class NoticeFact:
    """A notice (事先告知) served before a black listing, as of its own dates."""

    id: uuid.UUID
    served_on: dt.date
    delivered_on: dt.date | None = None
    objection_deadline: dt.date | None = None  # the last day to object (from delivery)
    withdrawn_on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ObjectionFact:
    """An objection (信用异议) to a record or a notice: open from `opened_on` until
    `decided_on`; `outcome` is `upheld` or `rejected` once decided."""

    id: uuid.UUID
    record_type: str
    record_id: uuid.UUID
    opened_on: dt.date
    decided_on: dt.date | None = None
    outcome: str | None = None

    def open_on(self, day: dt.date) -> bool:
        return self.opened_on <= day and (self.decided_on is None or self.decided_on > day)

    def upheld_by(self, day: dt.date) -> bool:
        return self.outcome == "upheld" and self.decided_on is not None and self.decided_on <= day
