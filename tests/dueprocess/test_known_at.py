"""Due process on both time axes (SPEC §9): for `as_of` and `known_at`, a notice
counts from when it was served and delivered, an objection is open from when it
was opened until it was decided, so a past answer stays what it was."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import clock
from app.dueprocess.models import Notice, Objection
from app.records.models import RecordVersion
from tests.dueprocess.conftest import credit, listed_pending
from tests.factories import make_key

SERVED = dt.date(2026, 6, 8)  # Monday
DELIVERED = dt.date(2026, 6, 9)
DEADLINE = "2026-06-22"  # ten days end Friday 06-19, the Dragon Boat Festival; then a weekend
OPENED = dt.date(2026, 6, 10)  # within the objection window
DECIDED = dt.date(2026, 6, 12)
AFTER = dt.date(2026, 6, 23)  # the first day the deadline is behind
ONE_MICROSECOND = dt.timedelta(microseconds=1)

PENDING = "; black list pending"
PENDING_NOTICE = f"{PENDING}: notice period"
PENDING_OBJECTIONS = f"{PENDING}: objections until {DEADLINE}"


def _s1(answer: dict[str, Any]) -> dict[str, Any]:
    found = [r for r in answer["reasons"] if r["rule_id"] == "S1"]
    assert len(found) == 1, answer["reasons"]
    return dict(found[0])


def _state(answer: dict[str, Any]) -> tuple[Any, ...]:
    """What due process changes in an answer: grade, black list, pending, notice,
    and whether the S1 reason is disputed and how it ends."""
    s1 = _s1(answer)
    text = s1["explanation_en"]
    ending = text[text.index(PENDING) :] if PENDING in text else ""
    return (
        answer["grade"],
        answer["black_list"],
        answer["black_list_pending"],
        answer["notice_id"],
        s1.get("disputed", False),
        ending,
    )


async def _at(client: AsyncClient, uscc: str, on: dt.date, moment: dt.datetime) -> dict[str, Any]:
    answer = await credit(client, uscc, as_of=on.isoformat(), known_at=moment.isoformat())
    assert answer["policy_version"] == "v2" and answer["as_of"] == on.isoformat()
    return answer


async def _moments(
    session: AsyncSession, violation_id: str, notice_id: str, objection_id: str
) -> dict[str, dt.datetime]:
    """When the registry stored each event, in the order they happened."""
    recorded = await session.scalar(
        select(RecordVersion.recorded_at).where(
            RecordVersion.record_id == uuid.UUID(violation_id), RecordVersion.version == 1
        )
    )
    served, delivered = (
        await session.execute(
            select(Notice.served_at, Notice.delivered_at).where(Notice.id == uuid.UUID(notice_id))
        )
    ).one()
    opened, decided = (
        await session.execute(
            select(Objection.opened_at, Objection.decided_at).where(
                Objection.id == uuid.UUID(objection_id)
            )
        )
    ).one()
    found = {
        "recorded": recorded,
        "served": served,
        "delivered": delivered,
        "opened": opened,
        "decided": decided,
    }
    moments = {name: moment for name, moment in found.items() if moment is not None}
    assert list(moments) == list(found)
    # Distinct and in order: a microsecond before one is after the one before it.
    times = list(moments.values())
    assert times == sorted(set(times))
    return moments


async def _objected_and_rejected(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> tuple[str, str, str, str]:
    """A serious violation (S1) recorded on SERVED, its notice served at once by the
    registry, delivered on DELIVERED, objected to by the enterprise on OPENED (within
    the window) and the objection rejected by another official on DECIDED: the
    organization's USCC and the violation's, notice's and objection's ids."""
    with clock.frozen(SERVED):
        uscc, made, own = await listed_pending(client, session, regulator)
        violation_id = made["id"]
        notice_id = (await credit(client, uscc))["notice_id"]
        assert notice_id is not None
    with clock.frozen(DELIVERED):
        delivered = await client.post(
            f"/v1/notices/{notice_id}/delivery",
            json={"delivered_on": DELIVERED.isoformat()},
            headers=regulator,
        )
        assert delivered.status_code == 200, delivered.text
        assert delivered.json()["objection_deadline"] == DEADLINE
    with clock.frozen(OPENED):
        filed = await client.post(
            "/v1/objections",
            json={"record_type": "violation", "record_id": violation_id, "grounds": "事实不清"},
            headers=own,
        )
        assert filed.status_code == 201, filed.text
        objection_id = filed.json()["id"]
    with clock.frozen(DECIDED):
        decided = await client.post(
            f"/v1/objections/{objection_id}/decision",
            json={"decision": "rejected", "reason": "理由不成立"},
            headers=await make_key(session, "regulator"),
        )
        assert decided.status_code == 200, decided.text
    return uscc, violation_id, notice_id, objection_id


async def test_notice_and_objection_count_from_their_recording_times(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, violation_id, notice_id, objection_id = await _objected_and_rejected(
        client, session, regulator
    )
    at = await _moments(session, violation_id, notice_id, objection_id)

    black = ("D", True, False, None, False, "")
    with clock.frozen(AFTER):
        # Everything known now: the objection was rejected, so listed the day after the deadline.
        now = await credit(client, uscc, as_of=AFTER.isoformat())
        assert _state(now) == black and now["listed_since"] == AFTER.isoformat()

        # Just before the violation was recorded, nothing of it was known.
        nothing = await _at(client, uscc, AFTER, at["recorded"] - ONE_MICROSECOND)
        assert (nothing["grade"], nothing["black_list"], nothing["black_list_pending"]) == (
            "B",
            False,
            False,
        )
        assert [r["rule_id"] for r in nothing["reasons"]] == ["BASE"]
        # Recorded, the notice not yet served: pending, with no notice to name.
        unnoticed = ("D", False, True, None, False, PENDING_NOTICE)
        assert _state(await _at(client, uscc, AFTER, at["recorded"])) == unnoticed
        assert _state(await _at(client, uscc, AFTER, at["served"] - ONE_MICROSECOND)) == (unnoticed)
        # Served, not yet delivered: pending on the notice, its window not yet running.
        served = ("D", False, True, notice_id, False, PENDING_NOTICE)
        assert _state(await _at(client, uscc, AFTER, at["served"])) == served
        assert _state(await _at(client, uscc, AFTER, at["delivered"] - ONE_MICROSECOND)) == (served)
        # Delivered, no objection known: the deadline has passed by AFTER, so listed.
        for moment in (at["delivered"], at["opened"] - ONE_MICROSECOND):
            told = await _at(client, uscc, AFTER, moment)
            assert _state(told) == black and told["listed_since"] == AFTER.isoformat()
        # An objection filed in time and open (undecided as known then): pending and disputed.
        disputed = ("D", False, True, notice_id, True, PENDING_OBJECTIONS)
        for moment in (at["opened"], at["decided"] - ONE_MICROSECOND):
            open_ = await _at(client, uscc, AFTER, moment)
            assert _state(open_) == disputed and open_["listed_since"] is None
        # Rejected: listed again, the reason no longer disputed.
        decided_then = await _at(client, uscc, AFTER, at["decided"])
        assert _state(decided_then) == black
        assert decided_then["listed_since"] == AFTER.isoformat()


async def test_an_objection_is_open_from_the_day_opened_until_the_day_decided(
    client: AsyncClient, session: AsyncSession, regulator: dict[str, str]
) -> None:
    uscc, _, notice_id, objection_id = await _objected_and_rejected(client, session, regulator)
    opened_at = await session.scalar(
        select(Objection.opened_at).where(Objection.id == uuid.UUID(objection_id))
    )
    assert opened_at is not None

    def disputed(answer: dict[str, Any]) -> bool:
        return bool(_s1(answer).get("disputed", False))

    with clock.frozen(AFTER):
        # Valid time, everything known now: disputed on OPENED and the days up to
        # DECIDED, not the day before it was opened nor from the day it was decided.
        days = [OPENED - dt.timedelta(days=1), OPENED, DECIDED - dt.timedelta(days=1), DECIDED]
        known_now = [disputed(await credit(client, uscc, as_of=d.isoformat())) for d in days]
        assert known_now == [False, True, True, False]
        # Known while it was still open, it stays open on every later day.
        then = [disputed(await _at(client, uscc, d, opened_at)) for d in days]
        assert then == [False, True, True, True]
        # Pending throughout: the deadline (06-22) is after every one of these days.
        for d in days:
            answer = await credit(client, uscc, as_of=d.isoformat())
            assert (answer["black_list"], answer["black_list_pending"], answer["notice_id"]) == (
                False,
                True,
                notice_id,
            )
