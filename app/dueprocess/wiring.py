"""Registering due process with the credit engine (called by the application
factory and the CLI): the provider of notices and objections, and the listener
that serves a notice when an S rule first holds in an episode."""

from __future__ import annotations

from app.credit import providers
from app.dueprocess import notices, objections
from app.records import disputes


def install() -> None:
    providers.register_facts("due process", notices.FACTS)
    providers.register_unnoticed(notices.serve_automatically)
    disputes.register(objections.disputed_ids)
