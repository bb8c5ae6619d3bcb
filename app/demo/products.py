"""Demo products for `qcr demo-data`: products, batches with test reports, a few
item codes each, and one ongoing recall, so that the resolver has something to
show. Deterministic, and loading twice adds nothing (GTINs already registered
are skipped)."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.codes import digital_link, service
from app.codes.models import Product
from app.codes.schemas import BatchCreate, InspectionReport, ProductCreate
from app.codes.secret import load_code_secret
from app.core.clock import today
from app.core.principal import SYSTEM
from app.core.settings import Settings, get_settings
from app.identifiers.gtin import make_gtin
from app.organizations.models import Organization
from app.records import service as records_service
from app.records.kinds import RECALL
from app.records.models import Recall
from app.records.schemas import RecallCreate

PRODUCTS_SHOWN = 8
BATCHES_PER_PRODUCT = 2
CODES_PER_BATCH = 5
# (name, model, execution standard, laboratory)
CATALOGUE = [
    ("电热水壶", "HK-1720", "GB 4706.19-2008", "国家家用电器质量检验检测中心"),
    ("儿童滑板车", "KS-300", "GB 6675.1-2014", "国家玩具质量检验检测中心"),
    ("婴幼儿配方乳粉（1段）", "800g 罐装", "GB 10765-2021", "国家乳制品质量检验检测中心"),
    ("电线电缆 BV 2.5", "BV-450/750V", "GB/T 5023.3-2008", "国家电线电缆质量检验检测中心"),
    ("家用燃气灶", "JZT-2B", "GB 16410-2020", "国家燃气用具质量检验检测中心"),
    ("儿童连衣裙", "110cm", "GB 31701-2015", "国家纺织服装产品质量检验检测中心"),
    ("一次性使用医用口罩", "17.5×9.5cm", "YY/T 0969-2013", "国家医疗器械质量检验检测中心"),
    ("转换插座", "GN-B3", "GB/T 2099.1-2021", "国家低压电器质量检验检测中心"),
]


def demo_gtin(uscc: str, n: int) -> str:
    """A stable GTIN-13 under the GS1 China prefix, derived from the producer."""
    digits = str(int(hashlib.sha256(f"{uscc}/{n}".encode()).hexdigest(), 16))[:10]
    return "0" + make_gtin("69" + digits)


async def load_demo_products(
    session: AsyncSession, organizations: list[Organization], *, settings: Settings | None = None
) -> str:
    """Register demo products for the first active organizations; a summary line."""
    settings = settings or get_settings()
    base, secret = settings.public_base_url, load_code_secret(settings)
    on = today()
    products = batches = codes = 0
    example = None
    producers = [o for o in organizations if o.status == "active"][:PRODUCTS_SHOWN]
    for n, org in enumerate(producers):
        name, model, standard, laboratory = CATALOGUE[n % len(CATALOGUE)]
        gtin = demo_gtin(org.uscc, n)
        if await session.scalar(select(Product.id).where(Product.gtin == gtin)) is not None:
            continue
        product, _ = await service.create_product(
            session,
            SYSTEM,
            ProductCreate(
                gtin=gtin,
                uscc=org.uscc,
                name=name,
                model=model,
                execution_standard=standard,
                factory_name=f"{org.name}生产基地",
                factory_address=org.address or "中国",
            ),
            base,
        )
        products += 1
        for b in range(BATCHES_PER_PRODUCT):
            produced = on - dt.timedelta(days=30 * (BATCHES_PER_PRODUCT - b))
            lot = f"{produced:%Y%m%d}-{b + 1:02d}"
            report = InspectionReport(
                report_no=f"WT{produced:%Y%m%d}{n:02d}{b}",
                authority=laboratory,
                inspected_on=produced + dt.timedelta(days=3),
                result="pass",
                standard=standard,
                items=["标志和说明", "结构", "安全性能"],
                conclusion="所检项目符合标准要求",
            )
            batch_data = BatchCreate(
                lot=lot,
                produced_on=produced,
                expires_on=produced + dt.timedelta(days=730),
                inspection_reports=[report],
            )
            await service.create_batch(session, SYSTEM, product, org, batch_data, base)
            batches += 1
            _, issuance = await service.issue_codes(
                session, SYSTEM, product, lot, CODES_PER_BATCH, secret
            )
            codes += CODES_PER_BATCH
            if n == 0 and b == 0:
                example = digital_link.item_uri(base, gtin, lot, issuance.first_serial)
                await _recall(session, org, product, lot, produced)
    summary = f"products: {products}, batches: {batches}, item codes: {codes}"
    return summary + (f"; a recalled item: {example}" if example else "")


async def _recall(
    session: AsyncSession, org: Organization, product: Product, lot: str, produced: dt.date
) -> None:
    recall_no = f"DEMO-RC-{product.gtin}"
    if await session.scalar(select(Recall.id).where(Recall.recall_no == recall_no)) is not None:
        return
    data = RecallCreate(
        recall_no=recall_no,
        product_name=product.name,
        gtin=product.gtin,
        lots=[lot],
        initiated_on=min(produced + dt.timedelta(days=20), today()),
        kind="voluntary",
        hazard_class=2,
        units=1200,
        remedy="免费更换加热底座，请联系经销商或拨打客服电话",
    )
    await records_service.create(session, SYSTEM, RECALL, org, data)
