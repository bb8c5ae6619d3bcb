"""The public pages: what they show, search and pagination, escaping, private
data kept out, accessibility basics, and friendly errors."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.lists import pages
from app.organizations import codes
from tests.factories import make_organization
from tests.lists.conftest import TODAY
from tests.lists.helpers import black_listed, post, publish, red_listed
from tests.records.helpers import inspection, recall, violation


class Outline(HTMLParser):
    """Headings, labelled inputs and table headers of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.labels: set[str] = set()
        self.inputs: list[str] = []
        self.th_scopes: list[str | None] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        elif tag == "input" and a.get("type") not in ("hidden", "submit"):
            self.inputs.append(str(a.get("id")))
        elif tag == "th":
            self.th_scopes.append(a.get("scope"))
        elif tag == "html":
            self.lang = a.get("lang")


def check_accessible(html: str) -> Outline:
    outline = Outline()
    outline.feed(html)
    assert outline.lang == "zh-CN"
    assert outline.headings.count(1) == 1 and outline.headings[0] == 1
    for previous, current in zip(outline.headings, outline.headings[1:], strict=False):
        assert current <= previous + 1, outline.headings  # no skipped level
    assert all(i in outline.labels for i in outline.inputs)
    assert all(scope in ("col", "row") for scope in outline.th_scopes)
    assert "<script" not in html.lower()
    return outline


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


async def test_index_before_and_after_publishing(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    page = await client.get("/lists")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    check_accessible(page.text)
    assert "红榜尚未发布" in page.text and "黑榜尚未发布" in page.text
    await black_listed(client, session, regulator, decided_on=ago(9))
    await publish(client, regulator, "black")
    page = await client.get("/lists")
    assert "第 1 期" in page.text and 'href="/lists/black"' in page.text
    empty = await client.get("/lists/red")
    assert empty.status_code == 200 and "红榜尚未发布" in empty.text


async def test_black_list_page_search_and_hash(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    target, v = await black_listed(
        client, session, regulator, decided_on=ago(15), name="杭州市劣质电器有限公司"
    )
    other, _ = await black_listed(
        client, session, regulator, decided_on=ago(25), name="宁波另一家公司"
    )
    published = await publish(client, regulator, "black")
    page = await client.get("/lists/black")
    assert page.status_code == 200
    check_accessible(page.text)
    for text in ("质量信用黑榜", "杭州市劣质电器有限公司", "宁波另一家公司", v["case_no"]):
        assert text in page.text
    assert v["public_summary"] in page.text
    assert published["sha256"] in page.text
    assert "sha256sum" in page.text and "hashlib.sha256" in page.text
    assert "/v1/lists/black/publications/1?format=csv" in page.text
    assert f'href="/organizations/{target}"' in page.text

    by_name = await client.get("/lists/black", params={"q": "劣质"})
    assert target in by_name.text and other not in by_name.text
    by_code = await client.get("/lists/black", params={"q": target[:12].lower()})
    assert target in by_code.text and other not in by_code.text
    by_org_code = await client.get("/lists/black", params={"q": codes.org_code_of(other)})
    assert other in by_org_code.text and target not in by_org_code.text
    nothing = await client.get("/lists/black", params={"q": "没有这家"})
    assert "没有找到匹配的企业" in nothing.text
    wildcard = await client.get("/lists/black", params={"q": "%"})
    assert target not in wildcard.text
    numbered = await client.get("/lists/black/1")
    assert numbered.status_code == 200 and target in numbered.text


async def test_pagination_links_walk_the_whole_list(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    made = [
        await red_listed(client, session, regulator, assessed_on=ago(3))
        for _ in range(pages.PAGE_SIZE + 5)
    ]
    await publish(client, regulator, "red")
    first = await client.get("/lists/red")
    assert "上一页" not in first.text
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    seen = set(re.findall(r"/organizations/(\w{18})", first.text + second.text))
    assert seen == set(made)
    assert 'rel="next"' not in second.text
    previous = re.search(r'href="([^"]+)" rel="prev"', second.text)
    assert previous
    back = await client.get(previous.group(1).replace("&amp;", "&"))
    assert re.findall(r"/organizations/(\w{18})", back.text) == re.findall(
        r"/organizations/(\w{18})", first.text
    )


async def test_organization_page_shows_public_credit_only(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, v = await black_listed(
        client, session, regulator, decided_on=ago(30), name="<script>alert(1)</script>公司"
    )
    await post(client, regulator, uscc, "inspections", inspection(inspected_on=ago(20)))
    await post(client, regulator, uscc, "recalls", recall(initiated_on=ago(10)))
    # A minor violation past its 3-month publication period is not shown.
    old = await post(
        client,
        regulator,
        uscc,
        "violations",
        violation(severity="minor", decided_on=ago(200), public_summary="过期的轻微违法"),
    )
    await publish(client, regulator, "black")
    page = await client.get(f"/organizations/{uscc}")
    assert page.status_code == 200
    check_accessible(page.text)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;公司" in page.text
    for text in (
        uscc,
        "D 级",
        "黑榜",
        v["case_no"],
        v["public_summary"],
        "电热水壶",  # the inspection
        "儿童滑板车",  # the recall
        "列入日期：" + ago(30),
        "黑榜第 1 期",
    ):
        assert text in page.text, text
    for private in ("张三", "内部案情", old["case_no"], "过期的轻微违法"):
        assert private not in page.text, private
    legacy = await client.get(f"/organizations/{codes.org_code_of(uscc)}")
    assert legacy.status_code == 200 and uscc in legacy.text


async def test_red_badges_on_the_organization_page(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc = await red_listed(client, session, regulator, assessed_on=ago(3))
    page = await client.get(f"/organizations/{uscc}")
    assert "守信 A 级" in page.text and 'class="badge badge-red"' in page.text
    assert "AAA 级" in page.text
    plain = await make_organization(session)
    page = await client.get(f"/organizations/{plain}")
    assert "守信 A 级" not in page.text and "B 级" in page.text


async def test_a_stored_script_never_runs_on_the_list_page(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    await black_listed(
        client,
        session,
        regulator,
        decided_on=ago(5),
        name='"><script>alert(1)</script><img src=x onerror=alert(2)>',
    )
    await publish(client, regulator, "black")
    for path in ("/lists/black", "/lists/black?q=%3Cscript%3E"):
        page = await client.get(path)
        assert "<script>" not in page.text and "<img" not in page.text
        assert "&lt;script&gt;" in page.text
        assert "script-src 'none'" in page.headers["content-security-policy"]


async def test_friendly_error_pages(client: AsyncClient) -> None:
    for path, status, text in [
        ("/organizations/91110000600037341X", 422, "企业代码无效"),
        ("/organizations/abc", 422, "企业代码无效"),
        ("/organizations/" + codes.make_uscc("9", "1", "110105", "ABCDEFGH"), 404, "未找到该企业"),
        ("/lists/green", 404, "页面不存在"),
        ("/lists/red/7", 404, "没有这一期名单"),
        ("/lists/red/0", 404, "没有这一期名单"),
        ("/lists/red/x", 404, "没有这一期名单"),
        ("/lists/red?after=abc", 422, "分页参数无效"),
        ("/lists/red?q=" + "长" * 101, 422, "搜索词过长"),
    ]:
        page = await client.get(path)
        assert page.status_code == status, path
        assert page.headers["content-type"].startswith("text/html"), path
        assert text in page.text, path
        check_accessible(page.text)
