"""Recall effectiveness (召回效果): progress reports per distribution level and
notification channel, the correction rate, and the serial-level evidence only
one-item-one-code gives — recalled items still scanned after the recall began
("still in use") and consumers' "I returned it" confirmations.

The producer reports the recall's progress to the regulator periodically
(缺陷消费品召回管理办法, SAMR Order 19 of 2019, art. 21: 召回进展情况); the
latest report is the current one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import journal
from app.core.clock import today
from app.core.database import Reader, db_now
from app.core.errors import Forbidden, NotFound, invalid
from app.core.principal import Principal
from app.core.settings import get_settings
from app.recalls.models import RecallProgress, RecallReturn
from app.recalls.schemas import Effectiveness, Evidence, LevelRate, ProgressCreate
from app.records import service as records_service
from app.records.kinds import RECALL
from app.records.models import Recall


def audit_view(progress: RecallProgress) -> dict[str, Any]:
    return {
        "recall_id": str(progress.recall_id),
        "reported_on": progress.reported_on.isoformat(),
        "levels": progress.levels,
        "notifications": progress.notifications,
    }


PROGRESS = journal.Audited("recall_progress", audit_view)


async def find_recall(
    session: Reader, actor: Principal, recall_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Recall, str]:
    """The recall and its producer's USCC; an enterprise sees only its own (else 404)."""
    record, org = await records_service.find(session, RECALL, recall_id, for_update=for_update)
    if not actor.is_regulator and not actor.owns(org.uscc):
        raise NotFound(f"no recall {recall_id}")
    assert isinstance(record, Recall)
    return record, org.uscc


async def record_progress(
    session: AsyncSession, actor: Principal, recall_id: uuid.UUID, body: ProgressCreate
) -> RecallProgress:
    """Store one progress report (audited)."""
    recall, uscc = await find_recall(session, actor, recall_id, for_update=True)
    on = body.reported_on or today()
    if on > today():
        raise invalid("reported_on", "is after today")
    if on < recall.initiated_on:
        raise invalid("reported_on", "is before the recall was initiated")
    if body.planned_completion_on and body.planned_completion_on < recall.initiated_on:
        raise invalid("planned_completion_on", "is before the recall was initiated")
    progress = RecallProgress(
        recall_id=recall.id,
        reported_on=on,
        levels=[lv.model_dump() for lv in body.levels],
        notifications=dict(body.notifications),
        planned_completion_on=body.planned_completion_on,
        created_by=actor.key_id,
        created_at=await db_now(session),
    )
    return await PROGRESS.save(
        session, actor, progress, "recall.progress", also={"uscc": uscc}, uscc=uscc
    )


# The item codes a recall covers: its GTIN, and its lots (none: every lot).
COVERED_CODES = text(
    "SELECT count(*) FROM item_codes i JOIN batches b ON b.id = i.batch_id "
    "JOIN products p ON p.id = b.product_id "
    "WHERE p.gtin = :gtin AND (CAST(:lots AS text[]) IS NULL OR b.lot = ANY(:lots))"
)
SCANS_AFTER = text(
    "SELECT count(*) AS scans, count(DISTINCT s.item_id) AS items "
    "FROM item_scans s JOIN item_codes i ON i.id = s.item_id "
    "JOIN batches b ON b.id = i.batch_id JOIN products p ON p.id = b.product_id "
    "WHERE p.gtin = :gtin AND (CAST(:lots AS text[]) IS NULL OR b.lot = ANY(:lots)) "
    "AND s.scanned_at >= :since"
)


async def _evidence(session: Reader, recall: Recall) -> Evidence:
    returned = await session.scalar(
        text("SELECT count(*) FROM recall_returns WHERE recall_id = :r"), {"r": recall.id}
    )
    if recall.gtin is None:  # a recall without a GTIN names no item codes
        return Evidence(
            item_codes=0,
            items_scanned_after_recall=0,
            scans_after_recall=0,
            returned_confirmations=int(returned or 0),
        )
    params: dict[str, Any] = {"gtin": recall.gtin, "lots": recall.lots}
    codes = await session.scalar(COVERED_CODES, params)
    since = dt.datetime.combine(recall.initiated_on, dt.time(), get_settings().zone)
    scans = (await session.execute(SCANS_AFTER, params | {"since": since})).one()
    return Evidence(
        item_codes=int(codes or 0),
        items_scanned_after_recall=int(scans.items),
        scans_after_recall=int(scans.scans),
        returned_confirmations=int(returned or 0),
    )


def _rate(corrected: int, distributed: int) -> float | None:
    return round(corrected / distributed, 4) if distributed else None


async def effectiveness(session: Reader, actor: Principal, recall_id: uuid.UUID) -> Effectiveness:
    """The latest report's correction rates, and the serial-level evidence."""
    recall, _ = await find_recall(session, actor, recall_id)
    latest = await session.scalar(
        select(RecallProgress)
        .where(RecallProgress.recall_id == recall.id)
        .order_by(RecallProgress.reported_on.desc(), RecallProgress.created_at.desc())
        .limit(1)
    )
    levels = list(latest.levels) if latest else []
    distributed = sum(int(lv["distributed"]) for lv in levels)
    corrected = sum(int(lv["corrected"]) for lv in levels)
    planned = latest.planned_completion_on if latest else None
    return Effectiveness(
        recall_id=recall.id,
        recall_no=recall.recall_no,
        status=recall.status,
        initiated_on=recall.initiated_on,
        units=recall.units,
        reported_on=latest.reported_on if latest else None,
        levels=[
            LevelRate(**lv, correction_rate=_rate(int(lv["corrected"]), int(lv["distributed"])))
            for lv in levels
        ],
        notifications=dict(latest.notifications) if latest else {},
        distributed=distributed,
        corrected=corrected,
        correction_rate=_rate(corrected, distributed),
        planned_completion_on=planned,
        overdue=recall.status == "ongoing" and planned is not None and planned < today(),
        evidence=await _evidence(session, recall),
    )


ITEM = text(
    "SELECT i.id FROM item_codes i JOIN batches b ON b.id = i.batch_id "
    "JOIN products p ON p.id = b.product_id "
    "WHERE p.gtin = :gtin AND b.lot = :lot AND i.serial = :serial"
)
# The ongoing recalls that cover an item (its GTIN, and its lot or every lot).
COVERING = text(
    "SELECT id FROM recalls WHERE status = 'ongoing' AND gtin = :gtin "
    "AND (lots IS NULL OR :lot = ANY(lots)) ORDER BY initiated_on, id"
)


def _genuine(gtin: str, lot: str, serial: str, secret: bytes) -> None:
    """422 on `serial` for a forged code (no database read)."""
    from app.codes.serials import verify_serial

    if not verify_serial(secret, gtin, lot, serial):
        raise invalid("serial", "is not a genuine item code")


async def _item_id(session: AsyncSession, gtin: str, lot: str, serial: str) -> int:
    item_id = await session.scalar(ITEM, {"gtin": gtin, "lot": lot, "serial": serial})
    if item_id is None:
        raise invalid("serial", "no such item code is registered")
    return int(item_id)


async def _confirm(session: AsyncSession, recall_id: uuid.UUID, item_id: int) -> bool:
    inserted = await session.scalar(
        insert(RecallReturn)
        .values(recall_id=recall_id, item_id=item_id)
        .on_conflict_do_nothing()
        .returning(RecallReturn.item_id)
    )
    return inserted is not None


async def confirm_return(
    session: AsyncSession, recall_id: uuid.UUID, gtin: str, lot: str, serial: str, secret: bytes
) -> bool:
    """A consumer's "I returned it" for one genuine item the recall covers; True
    when it is new (a repeat changes nothing)."""
    _genuine(gtin, lot, serial, secret)
    recall = await session.get(Recall, recall_id)
    if recall is None:
        raise NotFound(f"no recall {recall_id}")
    if recall.status != "ongoing":
        raise Forbidden("the recall is no longer ongoing")
    if recall.gtin != gtin or (recall.lots is not None and lot not in recall.lots):
        raise invalid("gtin", "this item is not covered by the recall")
    return await _confirm(session, recall.id, await _item_id(session, gtin, lot, serial))


async def confirm_item_returned(
    session: AsyncSession, gtin: str, lot: str, serial: str, secret: bytes
) -> list[uuid.UUID]:
    """The resolver page's "我已退回": the item counts as returned in every ongoing
    recall that covers it (usually one); the recalls it counts in. 422 on `serial`
    when the code is not genuine or no ongoing recall covers it."""
    _genuine(gtin, lot, serial, secret)
    item_id = await _item_id(session, gtin, lot, serial)
    recalls = list((await session.scalars(COVERING, {"gtin": gtin, "lot": lot})).all())
    if not recalls:
        raise invalid("serial", "no ongoing recall covers this item")
    for recall_id in recalls:
        await _confirm(session, recall_id, item_id)
    return recalls
