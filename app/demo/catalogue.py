"""What each demo industry makes, to which standard, tested by whom and on what
(issue #13: a toy company made infant formula, and formula carried a toy's test
items). One entry per industry: the organization names, its products, its
inspections, its recalls and its item codes all come from the same entry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    name: str
    model: str
    standard: str


@dataclass(frozen=True)
class Category:
    industry: str  # as it appears in the enterprise name
    industry_code: str  # GB/T 4754
    laboratory: str
    items: tuple[str, ...]  # the items a batch test covers
    failed_items: tuple[str, ...]  # what an inspection typically finds
    products: tuple[Product, ...]


CATEGORIES = (
    Category(
        "电器",
        "C38",
        "国家家用电器质量检验检测中心",
        ("标志和说明", "对触及带电部件的防护", "发热", "泄漏电流和电气强度"),
        ("发热", "接地措施", "泄漏电流和电气强度"),
        (
            Product("电热水壶", "HK-1720", "GB 4706.19-2008"),
            Product("转换插座", "GN-B3", "GB/T 2099.1-2021"),
        ),
    ),
    Category(
        "乳业",
        "C144",
        "国家乳制品质量检验检测中心",
        ("蛋白质", "脂肪", "菌落总数", "三聚氰胺"),
        ("菌落总数", "蛋白质"),
        (Product("婴幼儿配方乳粉（1段）", "800g 罐装", "GB 10765-2021"),),
    ),
    Category(
        "玩具",
        "C245",
        "国家玩具质量检验检测中心",
        ("标志和说明", "小零件", "锐利边缘", "可迁移元素"),
        ("小零件", "锐利边缘"),
        (Product("儿童滑板车", "KS-300", "GB 6675.1-2014"),),
    ),
    Category(
        "童装",
        "C181",
        "国家纺织服装产品质量检验检测中心",
        ("纤维含量", "甲醛含量", "pH 值", "绳带要求"),
        ("绳带要求", "甲醛含量"),
        (Product("儿童连衣裙", "110cm", "GB 31701-2015"),),
    ),
    Category(
        "电线电缆",
        "C383",
        "国家电线电缆质量检验检测中心",
        ("导体电阻", "绝缘厚度", "绝缘老化前抗张强度", "电压试验"),
        ("导体电阻", "绝缘厚度"),
        (Product("电线电缆 BV 2.5", "BV-450/750V", "GB/T 5023.3-2008"),),
    ),
    Category(
        "燃气具",
        "C3857",
        "国家燃气用具质量检验检测中心",
        ("气密性", "熄火保护装置", "燃烧工况", "一氧化碳含量"),
        ("熄火保护装置", "一氧化碳含量"),
        (Product("家用燃气灶", "JZT-2B", "GB 16410-2020"),),
    ),
    Category(
        "医疗器械",
        "C358",
        "国家医疗器械质量检验检测中心",
        ("细菌过滤效率", "通气阻力", "微生物指标", "环氧乙烷残留量"),
        ("细菌过滤效率", "环氧乙烷残留量"),
        (Product("一次性使用医用口罩", "17.5×9.5cm", "YY/T 0969-2013"),),
    ),
    Category(
        "化妆品",
        "C268",
        "国家化妆品质量检验检测中心",
        ("菌落总数", "铅", "汞", "标签标识"),
        ("菌落总数", "标签标识"),
        (Product("保湿乳液", "100mL", "GB/T 29665-2013"),),
    ),
    Category(
        "食品",
        "C14",
        "国家食品质量检验检测中心",
        ("菌落总数", "大肠菌群", "过氧化值", "标签标识"),
        ("大肠菌群", "过氧化值"),
        (Product("苏打饼干", "400g 袋装", "GB 7100-2015"),),
    ),
)

BY_INDUSTRY_CODE = {c.industry_code: c for c in CATEGORIES}


def category_of(industry_code: str | None) -> Category:
    """The category of an organization's industry code (the first if unknown)."""
    return BY_INDUSTRY_CODE.get(industry_code or "", CATEGORIES[0])
