"""What every process does once its database is reachable (the server's lifespan
and the CLI): load the policy schedule (SPEC §4.1) and state the four-eyes mode
(SPEC §9). The due-process providers are registered by `app.dueprocess.wiring`."""

from __future__ import annotations

from app.approvals import service as approvals_service
from app.core.database import Database
from app.core.settings import Settings
from app.credit import policies


async def start_up(database: Database, settings: Settings) -> None:
    async with database.sessionmaker() as session:
        await policies.load_schedule(session, settings.policy_v2_from)
        await approvals_service.start(session, settings.four_eyes)
        await session.commit()
