"""Who reacts to a write: the journal's listeners, registered once at start-up
(the edge knows every package; the writers know none of the listeners)."""

from __future__ import annotations

from app import journal
from app.credit import service as credit_service
from app.partners import outbox


def install_listeners() -> None:
    """Idempotent: every app, CLI command and test calls it."""
    # A write to an organization's inputs refreshes its materialised credit in
    # the same transaction (SPEC §4.6); once per organization in a bulk import.
    journal.listen(credit_service.refresh_after_write, coalesce=True)
    # A change event partners subscribe to enters the webhook outbox in the
    # writer's transaction: it exists if and only if its write committed (SPEC §11).
    journal.listen(outbox.enqueue)
