"""The change notification of an organization (app/core/notify.py): sent, in the
writer's transaction, by whatever writes what the public resolver shows of it —
its credit status, records, recalls, products, batches and feedback — so that
every process drops its cached answers within 1 second of the commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, String, cast
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.notify import notify, notify_each

TOPIC = "organization"


async def changed(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Notify, at commit, that this organization's public data changed."""
    await notify(session, TOPIC, str(organization_id))


def changed_each(organization_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """`changed` as a column, for each organization a statement selects."""
    return notify_each(TOPIC, cast(organization_id, String))
