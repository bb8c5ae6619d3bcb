"""The organization search narrowed by current credit (`GET /v1/organizations?grade=
&a_level=`): registered with organizations by app/wiring.py, since organizations
sit below credit and do not import it."""

from __future__ import annotations

from sqlalchemy import Select

from app.credit.models import CreditStatus
from app.organizations.models import Organization


def by_credit(
    statement: Select[Organization], grade: str | None, a_level: bool | None
) -> Select[Organization]:
    statement = statement.join(CreditStatus, CreditStatus.organization_id == Organization.id)
    if grade is not None:
        statement = statement.where(CreditStatus.grade == grade)
    if a_level is not None:
        statement = statement.where(CreditStatus.a_level.is_(a_level))
    return statement
