"""Who reacts to a write: the journal's listeners, registered once at start-up
(the edge knows every package; the writers know none of the listeners)."""

from __future__ import annotations

from app import journal
from app.approvals import wiring as approvals_wiring
from app.complaints import objections as complaint_objections
from app.complaints import queries as complaint_queries
from app.credit import providers as credit_providers
from app.credit import search as credit_search
from app.credit import service as credit_service
from app.dueprocess import targets as objection_targets
from app.dueprocess import wiring as dueprocess_wiring
from app.organizations import service as organizations_service
from app.partners import outbox


def install_listeners() -> None:
    """Idempotent: every app, CLI command and test calls it."""
    # A write to an organization's inputs refreshes its materialised credit in
    # the same transaction (SPEC §4.6); once per organization in a bulk import.
    journal.listen(
        credit_service.refresh_after_write,
        coalesce=True,
        many=credit_service.refresh_after_writes,
    )
    # Due process feeds credit (notices, objections) and four eyes guards the acts
    # of SPEC §9; both register hooks the lower packages call.
    dueprocess_wiring.install()
    approvals_wiring.install()
    # Substantiated complaints count in credit (rule C1 of policy v2, SPEC §10).
    credit_providers.register_facts("complaints", complaint_queries.FACTS)
    # ... and may be objected to (SPEC §9 `record_type` `complaint`): due process
    # keeps the registry of objection targets, complaints (above it) fill in theirs.
    objection_targets.register(complaint_objections.TARGET)
    # The organization search narrows by current credit (grade, A-level).
    organizations_service.register_credit_filter(credit_search.by_credit)
    # A change event partners subscribe to enters the webhook outbox in the
    # writer's transaction: it exists if and only if its write committed (SPEC §11).
    journal.listen(outbox.enqueue)
