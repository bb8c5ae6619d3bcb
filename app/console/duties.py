"""The console's lines for due process and partners (SPEC §9, §11): overdue
objections, pending approvals, the latest notices, partners' unacknowledged
exits and disabled webhook endpoints. Each is one small table."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app.approvals import service as approvals_service
from app.console import sections
from app.core.clock import today
from app.core.principal import Principal
from app.core.templates import environment
from app.dueprocess import notices, objections
from app.partners import acknowledgements, subscriptions

_TABLE = environment.from_string(
    '{% if rows %}<table class="duties"><thead><tr>'
    "{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>"
    "{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>"
    "{% endfor %}</tbody></table>"
    '{% else %}<p class="empty">{{ empty }}</p>{% endif %}'
)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], empty: str) -> Markup:
    html = _TABLE.render(headers=headers, rows=rows, empty=empty)
    return Markup(html)  # noqa: S704 - rendered by the autoescaping environment


async def overdue_objections(session: AsyncSession, principal: Principal) -> Markup:
    found = await objections.overdue_objections(session, today())
    rows = [(o.uscc, o.record_type, o.opened_on, o.due_on, str(o.id)) for o in found]
    return _table(("企业", "异议对象", "提出日", "应决定日", "编号"), rows, "没有逾期的异议。")


async def pending_approvals(session: AsyncSession, principal: Principal) -> Markup:
    found = await approvals_service.pending_approvals(session)
    rows = [(a.action, a.target_type, a.target_id, a.proposed_by, a.expires_on) for a in found]
    return _table(("事项", "对象", "编号", "提议人", "有效至"), rows, "没有待审批的事项。")


async def recent_notices(session: AsyncSession, principal: Principal) -> Markup:
    found = await notices.recent_notices(session, limit=20)
    rows = [
        (n.uscc, n.served_on, n.delivered_on or "未送达", n.objection_deadline or "—", n.status)
        for n in found
    ]
    return _table(("企业", "告知日", "送达日", "异议期至", "状态"), rows, "没有事先告知。")


async def unacknowledged_exits(session: AsyncSession, principal: Principal) -> Markup:
    found, _ = await acknowledgements.unacknowledged(session, after=None, limit=50)
    rows = [(u.uscc, u.list, u.exited_on, u.due_on, str(u.measure_id)) for u in found]
    return _table(("企业", "名单", "移出日", "应解除日", "措施"), rows, "合作部门均已确认解除。")


async def disabled_endpoints(session: AsyncSession, principal: Principal) -> Markup:
    found = await subscriptions.disabled_subscriptions(session, limit=20)
    rows = [(s.url, s.disabled_at, str(s.id)) for s in found]
    return _table(("推送地址", "停用时间", "订阅"), rows, "没有停用的推送地址。")


def install() -> None:
    sections.register(sections.Section("objections", "逾期未决的异议", 30, overdue_objections))
    sections.register(
        sections.Section("approvals", "待审批事项（两人审核）", 40, pending_approvals)
    )
    sections.register(sections.Section("notices", "最近的事先告知", 50, recent_notices))
    sections.register(sections.Section("exits", "合作部门逾期未确认解除", 60, unacknowledged_exits))
    sections.register(sections.Section("webhooks", "已停用的推送地址", 70, disabled_endpoints))
