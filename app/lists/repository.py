"""Statements of the lists domain.

The "now" lists are built by one INSERT … SELECT each from the materialised
credit statuses. The canonical JSON line of every entry is assembled in SQL:
`to_json(text)` escapes exactly as Python's `json.dumps(…, ensure_ascii=False)`
does (`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`, other control characters as `\\u00xx`,
everything else verbatim) and `to_json(date)` is the ISO date, so with the keys
written in sorted order and no spaces the line equals `canonical.canonical_line`
of the entry. tests/lists/test_canonical.py holds the two to that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Select, and_, exists, func, or_, select, text, true
from sqlalchemy.sql.elements import ColumnElement, TextClause

from app.lists import canonical
from app.lists.models import ListEntry, ListPublication
from app.organizations.models import Organization
from app.policy import policy
from app.policy.months import add_months
from app.records.models import GradeAssessment, Violation


def _json(expression: str) -> str:
    return f"coalesce(to_json({expression})::text, 'null')"


# Keys in sorted order: grade, name, region_code, uscc.
_RED_LINE = (
    f"""'{{"grade":' || {_json("cs.grade")} || ',"name":' || {_json("o.name")}"""
    f""" || ',"region_code":' || {_json("o.region_code")} || ',"uscc":' || {_json("cs.uscc")}"""
    " || '}'"
)
# Keys in sorted order: authority, case_no, decided_on, public_summary.
_REASON = (
    f"""'{{"authority":' || {_json("v.authority")} || ',"case_no":' || {_json("v.case_no")}"""
    f""" || ',"decided_on":' || {_json("v.decided_on")}"""
    f""" || ',"public_summary":' || {_json("v.public_summary")} || '}}'"""
)
# Keys in sorted order: expected_exit, listed_since, name, reasons, uscc.
_BLACK_LINE = (
    f"""'{{"expected_exit":' || {_json("cs.expected_exit")}"""
    f""" || ',"listed_since":' || {_json("cs.listed_since")} || ',"name":' || {_json("o.name")}"""
    """ || ',"reasons":[' || coalesce(r.reasons, '') || ']'"""
    f""" || ',"uscc":' || {_json("cs.uscc")} || '}}'"""
)

# Reasons of a black entry: the violations behind its S1/S2 reasons, each once,
# by decision date, then authority and case number (byte order).
_BLACK_REASONS = f"""
    LEFT JOIN LATERAL (
        SELECT string_agg({_REASON}, ','
                          ORDER BY v.decided_on, v.authority COLLATE "C", v.case_no COLLATE "C")
               AS reasons
        FROM violations v
        WHERE v.id IN (
            SELECT (x->>'record_id')::uuid FROM jsonb_array_elements(cs.reasons) AS x
            WHERE x->>'rule_id' IN ('S1', 'S2') AND x->>'record_type' = 'violation'
        )
    ) AS r ON true
"""  # noqa: S608 (constant fragments of this module, no input)


def insert_current(kind: str) -> TextClause:
    """INSERT the entries of list `kind` as the materialised statuses stand."""
    line, joins, flag = (
        (_RED_LINE, "", "cs.red_list")
        if kind == "red"
        else (_BLACK_LINE, _BLACK_REASONS, "cs.black_list")
    )
    return text(
        f"""
        INSERT INTO list_entries (kind, number, ordinal, uscc, name, line)
        SELECT :kind, :number, row_number() OVER (ORDER BY cs.uscc COLLATE "C"),
               cs.uscc, o.name, {line}
        FROM credit_status AS cs
        JOIN organizations AS o ON o.id = cs.organization_id
        {joins}
        WHERE {flag}
        """  # noqa: S608 (constant fragments of this module, no input)
    )


def next_number(kind: str) -> Select[Any]:
    return select(func.coalesce(func.max(ListPublication.number), 0) + 1).where(
        ListPublication.kind == kind
    )


def lines_after(kind: str, number: int, after: int, limit: int) -> Select[int, str, str]:
    """Entries after ordinal `after`, in order: keyset pagination on the primary key."""
    return (
        select(ListEntry.ordinal, ListEntry.uscc, ListEntry.line)
        .where(ListEntry.kind == kind, ListEntry.number == number, ListEntry.ordinal > after)
        .order_by(ListEntry.ordinal)
        .limit(limit)
    )


def candidates(
    kind: str, on: dt.date, after_uscc: str, limit: int, p: policy.Policy = policy.POLICY_V1
) -> Select[uuid.UUID, str, str, str, str]:
    """Organizations that may be on list `kind` on a past date `on` — a superset
    narrowed by what each list needs, so that evaluating their history is cheap."""
    o = Organization
    if kind == "black":
        # S1 and S2 need a general or serious violation inside their windows.
        months = max(p.serious_window_months, p.s2_window_months)
        v = Violation
        condition: ColumnElement[bool] = exists().where(
            v.organization_id == o.id,
            v.severity.in_(("general", "serious")),
            v.decided_on <= on,
            v.decided_on > add_months(on, -months),
        )
    else:
        # A-level needs an A-level base grade: an assessment valid on `on`
        # (or a default grade that is A-level itself).
        g = GradeAssessment
        valid_a = exists().where(
            g.organization_id == o.id,
            g.grade.in_(sorted(policy.A_LEVEL_GRADES)),
            g.assessed_on <= on,
            or_(g.valid_until.is_(None), g.valid_until >= on),
        )
        base = valid_a if p.default_grade not in policy.A_LEVEL_GRADES else true()
        condition = and_(o.status == "active", base)
    return (
        select(o.id, o.uscc, o.name, o.region_code, o.status)
        .where(condition, o.uscc.collate("C") > after_uscc)
        .order_by(o.uscc.collate("C"))
        .limit(limit)
    )


def _changed(kind: str) -> str:
    fields = canonical.CHANGE_FIELDS[kind]
    return " OR ".join(
        f"(a.line::jsonb -> '{f}') IS DISTINCT FROM (b.line::jsonb -> '{f}')" for f in fields
    )


def diff_part(
    part: str, kind: str, number: int, previous: int | None, after: int, limit: int
) -> TextClause:
    """A batch of one part of a diff, keyed by this publication's ordinal (the
    previous one's for `removed`): `added` and `removed` are anti-joins on uscc,
    `changed` a join on uscc where a field of `CHANGE_FIELDS` differs."""
    # `a` is the previous publication, `b` this one; for `removed` they swap roles.
    this, other = (previous, number) if part == "removed" else (number, previous)
    if part == "changed":
        select_, where = (
            "b.ordinal, a.ordinal, b.uscc, a.line, b.line FROM list_entries b JOIN list_entries a "
            "ON a.kind = b.kind AND a.number = :other AND a.uscc = b.uscc",
            f"AND a.line <> b.line AND ({_changed(kind)})",
        )
    else:
        select_, where = (
            "b.ordinal, b.line FROM list_entries b",
            "AND NOT EXISTS (SELECT 1 FROM list_entries a "
            "WHERE a.kind = b.kind AND a.number = :other AND a.uscc = b.uscc)",
        )
    statement = text(
        f"SELECT {select_} WHERE b.kind = :kind AND b.number = :this "
        f"AND b.ordinal > :after {where} ORDER BY b.ordinal LIMIT :limit"
    )
    return statement.bindparams(
        kind=kind, this=this, other=-1 if other is None else other, after=after, limit=limit
    )
