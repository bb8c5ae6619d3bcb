"""The four-eyes hook (SPEC §9): acts that need a second official call `check`
before acting. The implementation lives above the domains (app/approvals) and is
registered at start-up; without it every act goes ahead (as with four eyes off).

`check` answers None to go ahead, or the pending approval the caller returns
(`202` with `Location`). An act executed on an approval passes it back in, and
the guard then verifies that the payload is still the one approved."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.principal import Principal


@dataclass(frozen=True)
class Proposal:
    action: str  # black_list.publish | repair.decide | objection.decide | list.retract
    target_type: str
    target_id: str
    payload: dict[str, Any]
    last_editor: uuid.UUID | None = None  # the key that last edited the target


class Pending(Protocol):
    id: uuid.UUID

    def as_json(self) -> dict[str, Any]: ...


# Answers None, or the pending approval (a `Pending`).
Guard = Callable[[AsyncSession, Principal, Proposal, Any], Awaitable[Any]]

_guard: Guard | None = None


def register(guard: Guard | None) -> None:
    global _guard
    _guard = guard


async def check(
    session: AsyncSession, actor: Principal, proposal: Proposal, approval: Any = None
) -> Pending | None:
    """None: act now. Otherwise the pending approval to answer with."""
    if _guard is None:
        return None
    pending: Pending | None = await _guard(session, actor, proposal, approval)
    return pending


def accepted(pending: Pending) -> JSONResponse:
    """`202` with the pending approval and its `Location` (SPEC §9)."""
    return JSONResponse(
        pending.as_json(), status_code=202, headers={"Location": f"/v1/approvals/{pending.id}"}
    )
