"""Names vulture cannot see being used: the frameworks read them (scripts/check).

Each group says who uses the names. A name added here must be used by a
framework, never merely unused: dead code is deleted, not listed.
"""

# ruff: noqa: B018, F821
# mypy: ignore-errors

# Columns of SQLAlchemy models and fields of Pydantic schemas: written and read
# by the ORM and the serialisers, by name (these two also by the SQL of the
# credit facts' parts, app/complaints/queries.py and app/dueprocess/notices.py).
substantiated_recorded_at
withdrawn_at
producer_name
conclusion
first_uri
batch_code_count
suspicious
requested_by
requested_role
decided_by
_.decided_by
published_by
added
removed
imported
_.imported
basis
description
penalty_amount
revoked_reason
hazard_class
units
remedy
recorded_by
recorded_role
loaded_at
sequenced_at
audit_path
phone
decided_in_time
handled_rate
closed_rate
reports_received
reports_verified_in_time
ran_at
detections

# An index declared on another package's table (app/signals/models.py): SQLAlchemy
# attaches it to item_scans when the module is imported.
SCANS_BY_TIME

# structlog's logger protocol (app/core/logging.py) and the stdlib logger flag.
critical
debug
fatal
warn
_.disabled

# Alembic's include_object hook signature (app/core/migrations.py).
compare_to
obj
reflected

# pytest and uvicorn hooks, Selenium options, an HTMLParser callback.
pytest_plugins
pytestmark
pytest_sessionfinish
pytest_testnodedown
pytest_terminal_summary
_.should_exit
_.binary_location
_.handle_starttag

# Declared for the schema (migrations 0402, 0701, the drift test); written in SQL by
# app/codes/scans.py and app/codes/daycounts.py.
ItemScanClient
ScanDayCount

# Test data compared whole (dataclass equality) or shown when a test fails.
attempts
_.attempts
serious_violation_id
_.serious_violation_id
audit_head


# Partners and recalls (app/partners, app/recalls): columns and schema fields;
# the webhook operations of the OpenAPI document and their header parameters
# (FastAPI reads their signatures); the DELETE route (its decorator);
# httpx's transport pool and httpcore's backend interface, which they call.
matter
department
legal_basis
last_success_at
deleted_at
last_attempt_at
last_status
delivered_at
requeued
specversion
subject
sequence
datacontenttype
list_entered
list_exited
credit_changed
recall_opened
objection_opened
repair_completed
webhook_timestamp
webhook_signature
delete_subscription
_._pool
connect_unix_socket
confirmed_at
correction_rate
items_scanned_after_recall
scans_after_recall
returned_confirmations
overdue
evidence
# uvicorn.Server's flag, set by the tests' webhook receiver.
_.force_exit
# Unused today in the journal's code (#12), left for its owner to delete or use.
# TODO(lead): delete these lines with the names.
notes  # app/audit/verify.py, Report.notes

# Due process and four eyes (SPEC §9): columns written for the audit trail and
# the API, and the console's service functions the lead wires into /console.
proposed_key
decided_key
_.decided_key
opened_role
published_late
pending_approvals
overdue_objections
recent_notices
register_facts

# A Reader's `get` takes SQLAlchemy's keyword (app/core/database.py; a Protocol
# names what callers may pass).
populate_existing
# The rate limiter's handle name on app.state: tests replace it there by name
# (app/core/ratelimit.py RATE_LIMITER).
_.rate_limiter
# The resolver JSON model's fields (app/codes/schemas.py ResolverOut): read by pydantic.
_.producer
# The webhook client's connection (app/partners/client.py): asyncio calls the
# Protocol's methods, httptools the parser's callbacks.
_.connection_made
_.data_received
_.connection_lost
_.on_message_begin
_.on_headers_complete
_.on_message_complete
