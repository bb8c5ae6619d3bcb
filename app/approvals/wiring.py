"""Registering four eyes: the guard the domains call, and the acts it runs on approval."""

from __future__ import annotations

from app.approvals import executors, service
from app.auth import guards


def install() -> None:
    guards.register(service.guard)
    executors.install()
