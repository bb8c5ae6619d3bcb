"""Demo data that makes the first run show risk signals (SPEC §10):

- 宁波 (prefecture 3302): the failure rate of electrical appliances (class C38)
  jumps — 6 of 8 inspections fail yesterday against a category rate near 3 %;
- a cloned item code scanned yesterday from 40 different clients;
- a cluster of 6 identical complaints about one product and lot, received
  yesterday through the 12315 line;

then yesterday's series are counted and the detectors run, as the 01:00 job would.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes import scans
from app.codes.models import Batch, ItemCode, Product
from app.complaints import service as complaints_service
from app.complaints.schemas import Complainant, ComplaintCreate
from app.core import clock, fastpath
from app.core.principal import SYSTEM
from app.core.settings import get_settings
from app.organizations import codes
from app.organizations import service as organization_service
from app.organizations.models import Organization
from app.organizations.schemas import OrganizationWrite
from app.records import schemas
from app.records import service as records_service
from app.records.kinds import INSPECTION
from app.signals import job

APPLIANCES = [
    ("330212", "宁波市北仑华电电器有限公司", "0DEMKA01"),
    ("330212", "宁波市鄞州美厨电器有限公司", "0DEMKA02"),
    ("330106", "杭州市西湖佳美电器有限公司", "0DEMKB01"),
    ("330106", "杭州市余杭安居电器有限公司", "0DEMKB02"),
    ("320505", "苏州市高新恒温电器有限公司", "0DEMKB03"),
]
CLONE_CLIENTS = 40
CLUSTER = 6


async def _appliance_makers(session: AsyncSession) -> list[Organization]:
    made = []
    for region, name, body in APPLIANCES:
        uscc = codes.make_uscc("9", "1", region, body)
        data = OrganizationWrite(
            name=name, address=f"{name[:3]}工业园区1号", industry_code="C3854", region_code=region
        )
        org, _ = await organization_service.upsert(session, SYSTEM, uscc, data)
        made.append(org)
    return made


async def _inspect(
    session: AsyncSession, org: Organization, day: dt.date, n: int, failed: bool
) -> None:
    await records_service.create(
        session,
        SYSTEM,
        INSPECTION,
        org,
        schemas.InspectionCreate(
            report_no=f"CJ{day:%Y%m%d}-{org.org_code}-{n}",
            authority="浙江省市场监督管理局",
            inspected_on=day,
            product_name="电热水壶",
            standard="GB 4706.19-2008",
            result="fail" if failed else "pass",
            failed_items=["泄漏电流和电气强度"] if failed else [],
        ),
    )


async def _failure_jump(session: AsyncSession, yesterday: dt.date) -> None:
    makers = await _appliance_makers(session)
    ningbo, others = makers[:2], makers[2:]
    for k in range(60):  # the category's year: 60 inspections elsewhere, 2 failing
        org = others[k % len(others)]
        await _inspect(session, org, yesterday - dt.timedelta(days=40 + 5 * k), k, k in (7, 33))
    for k in range(8):  # yesterday in 宁波: 6 of 8 fail
        await _inspect(session, ningbo[k % 2], yesterday, 100 + k, k < 6)


async def _cloned_code(session: AsyncSession, yesterday: dt.date) -> str | None:
    item = await session.scalar(select(ItemCode).order_by(ItemCode.id).limit(1))
    if item is None:
        return None
    zone = get_settings().zone
    noon = dt.datetime.combine(yesterday, dt.time(12), zone)
    clones = [
        scans.Scan(
            item.id,
            noon + dt.timedelta(minutes=n),
            hashlib.sha256(f"demo-clone-{n}".encode()).digest()[:16],
            "mobile",
        )
        for n in range(CLONE_CLIENTS)
    ]
    # Through the scan writer, so the day's counters have them as they would.
    await scans.write(await fastpath.driver(session), clones, zone)
    return item.serial


async def _complaint_cluster(session: AsyncSession, yesterday: dt.date) -> None:
    row = (
        await session.execute(
            select(Product.gtin, Batch.lot)
            .join(Batch, Batch.product_id == Product.id)
            .order_by(Product.gtin, Batch.lot)
            .limit(1)
        )
    ).first()
    if row is None:
        return
    with clock.frozen(yesterday):
        for n in range(CLUSTER):
            await complaints_service.receive(
                session,
                SYSTEM,
                ComplaintCreate(
                    kind="complaint",
                    gtin=row.gtin,
                    lot=row.lot,
                    category="安全隐患",
                    description="使用中外壳发烫并有焦糊味，要求退货并赔偿。",
                    complainant=Complainant(
                        name=f"消费者{n + 1}", phone=f"1380000{n:04d}", address="浙江省宁波市"
                    ),
                    channel="12315",
                ),
                secret=b"",
                client_hash=None,
                source="regulator",
            )


async def load(session: AsyncSession) -> str:
    """The three demo stories, then yesterday's detection; a one-line summary."""
    yesterday = clock.today() - dt.timedelta(days=1)
    await _failure_jump(session, yesterday)
    serial = await _cloned_code(session, yesterday)
    await _complaint_cluster(session, yesterday)
    result = await job.run_day(session, yesterday, get_settings())
    clone = f"cloned code {serial}" if serial else "no item code to clone"
    return f"signals: {result.raised} raised for {yesterday} ({clone}, a complaint cluster)"
