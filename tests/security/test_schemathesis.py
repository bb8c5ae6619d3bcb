"""Contract fuzzing: schemathesis over the app's own OpenAPI document, in process.

Every operation of `/openapi.json` (so operations added later are covered with
no change here), in three phases: the document's own examples, schemathesis's
coverage phase (boundary values of every parameter and body field, each
constraint broken in turn, required headers left out, undeclared methods) and
generated valid and invalid requests. A generated or example request is sent as
every role: anonymous, partner, enterprise (bound to an organization that
exists), regulator and admin, twice: as generated, and with its path parameters
pointed at records that exist, so lookups and writes reach real data and not only
404s. A coverage case is sent once, as the next role in turn (`_requests`).

Checks: every check of schemathesis (`CHECKS.get_all()`, 14 in 4.32.5): no 5xx;
the status, content type, body and headers conform to the document (problem+json
included); schema-invalid requests are refused (`negative_data_rejection`) and
schema-valid ones accepted (`positive_data_acceptance`); `ignored_auth` (a
key-only operation refuses the request without a key; public ones declare
optional security); `missing_required_header`; `unsupported_method` (405 with
`Allow`); `allow_header_conformance` (`OPTIONS` lists the documented methods);
`use_after_free`, `ensure_resource_availability` and
`object_level_authorization` (they judge only what a stateless run gives them).
The data is committed for real (the app runs on schemathesis's own event loop)
and removed afterwards.

Where the variant with existing records undoes a case's negation (path values
replaced, the Authorization a negative case left out or mangled put back by the
role), `negative_data_rejection` does not judge that request.

Expected statuses of valid input are what SPEC 5 defines for a valid request:
401/403 (the role), 404 (a generated id of a record that does not exist), 409 (a
conflict with the state), 412 and 428 (`If-Match` stale or missing on a
versioned record). A 422 counts as acceptance only when every error it names is
one of `STATE_RULES`: the operation, the field and the message of a rule that
depends on the registry's state, on today or on several fields at once, which no
schema of one request can state. One artefact of schemathesis is excused
(`_unquoted_percent`). Check characters (USCC, organization code, GTIN) are
`format`s in the document, generated here as valid values; NUL and unpaired
surrogates are not generated (PostgreSQL cannot store them;
tests/security/test_hostile_input.py checks the 422).

`QCR_FUZZ_EXAMPLES=N` generates more examples per operation (CI: 6);
`QCR_FUZZ_COVERAGE=0` leaves the coverage phase out.

The schema is loaded at import (`schemathesis.openapi.from_dict`) rather than
with `schemathesis.pytest.from_fixture`: the lazy loader of 4.32.5 sets
`Function._nodeid`, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import copy
import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import load_all_checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi import checks as openapi_checks

from app.core.database import Database, make_engine
from app.core.settings import Settings
from app.identifiers.gtin import make_gtin
from app.main import create_app
from app.organizations import codes
from tests import figures
from tests.conftest import DatabaseUnderTest
from tests.security.conftest import UNLIMITED, CommittedWorld
from tests.security.dataset import ROLES, Dataset, path_values
from tests.security.helpers import document

# Examples generated per operation (plus the document's own examples), each sent
# 2 × 5 times; the coverage phase adds its cases, each sent once (`_requests`).
MAX_EXAMPLES = int(os.environ.get("QCR_FUZZ_EXAMPLES", "6"))
COVERAGE = os.environ.get("QCR_FUZZ_COVERAGE", "1") == "1"
SEED = 20261123

load_all_checks()

# A 422 that a schema-valid request still gets, because its rule is about the
# registry's state, about today, or across fields: none of which a JSON Schema of
# one request can state. (operation or "*", the field the error names, a pattern
# of its message, why). Anything else a valid request gets as 422 is a failure.
STATE_RULES: tuple[tuple[str, str, str, str], ...] = (
    ("*", "cursor", "issued", "only the service issues cursors (SPEC 5)"),
    ("GET /v1/changes", "cursor", "not two different positions", "`cursor` or `after`"),
    ("*", "", "is in the future|is after today|before 1949|between 1949", "relative to today"),
    ("*", "", r"check (digit|character) mismatch", "SPEC 2 check characters (`format`)"),
    ("*", "idempotency-key", "different", "SPEC 5: one key, one request (sent once a role)"),
    ("POST /v1/subscriptions", "url", "", "https to a public address, resolved (SPEC 11)"),
    ("POST /v1/lists/{kind}/publications/{number}/retractions", "uscc", "", "an entry of it"),
    ("POST /v1/products", "uscc", "no organization", "a product names a registered producer"),
    ("POST /v1/complaints", "gtin", "no product", "a registered product"),
    ("POST /v1/complaints", "uscc", "no organization|not the producer", "its registered producer"),
    ("POST /v1/complaints", "serial", "", "an issued code of that gtin and lot (proof of scan)"),
    ("POST /v1/complaints", "complainant", "needs its complainant", "a complaint's, art. 9"),
    ("POST /v1/complaints", "", "at least one of gtin or uscc", "one of two fields"),
    ("POST /v1/complaints", "", "only a regulator's intake", "channel, authority: the role's"),
    ("POST /v1/complaints", "complainant", "at least", "the form's three complainant fields"),
    ("POST /v1/imports/violations", "file", "", "UTF-8 or GB18030 CSV with its header row"),
    ("GET /v1/audit/entries/{seq}/proof", "tree_size", "at least seq|beyond the log", "log size"),
    ("GET /v1/audit/entries/{seq}/proof", "seq", "beyond the log", "the log's size"),
    ("GET /v1/audit/tree-head", "tree_size", "beyond the log", "the log's size"),
    ("GET /v1/audit/consistency", "", "beyond the log|must not exceed", "first <= second <= size"),
    ("POST /v1/recalls/{id}/progress", "", "before the recall was initiated", "the recall's date"),
    ("POST /v1/recalls/{id}/progress", "", "more than distributed|appear once", "per level"),
    ("POST /v1/recalls/{id}/returns", "", "item code|not covered|no ongoing recall", "its codes"),
    ("POST /v1/measures/{id}/applications", "event_id", "no such event", "an existing event"),
    ("POST /v1/objections/{id}/decision", "correction", "", "a patch of the record's kind"),
    ("POST /v1/objections/{id}/decision", "revoked_on", "repaired", "a repaired one stays"),
    ("POST /v1/organizations/{code}/violations", "body", "penalty kind", "kinds and their dates"),
    ("PATCH /v1/violations/{id}", "body", "go together|penalty kind", "fields that go together"),
    ("PATCH /v1/violations/{id}", "revoked_on", "repaired", "a repaired violation stays"),
    ("POST /v1/complaints/{id}/transitions", "", "", "the steps the case's state allows"),
    ("POST /v1/signals/{id}/transitions", "reason", "needs its reason", "a dismissal's"),
)


def _state_rule(operation: str, error: dict[str, Any]) -> bool:
    field = str(error.get("field", "")).split("[")[0].split(".")[0].lower()
    message = str(error.get("message", ""))
    return any(
        where in ("*", operation)
        and (not name or field == name)
        and (not pattern or re.search(pattern, message))
        for where, name, pattern, _why in STATE_RULES
    )


def _unquoted_percent(case: Case[Any], response: Any) -> bool:
    """schemathesis unquotes a generated path value before quoting it (4.32.5,
    `quote_all`), so the lot `%AB` goes out as U+FFFD: a 422 for what was sent."""
    return response.status_code == 422 and "%EF%BF%BD" in str(response.request.url)


def _problem_errors(case: Case[Any], response: Any) -> list[dict[str, Any]]:
    """The errors a 422 names. A form's 422 is a page for people: the same request
    asking for JSON (a 422 changes nothing) names them."""
    if response.request.method == "HEAD" or not response.content:
        return []
    if not response.headers.get("content-type", [""])[0].startswith("text/html"):
        return list(response.json().get("errors") or [])
    headers = dict(response.request.headers) | {"Accept": "application/json"}
    again = case.call(app=case.operation.schema.app, headers=headers)
    assert again.status_code == 422, again.text
    return list(again.json().get("errors") or [])


def positive_data_acceptance(ctx: Any, response: Any, case: Case[Any]) -> bool | None:
    """schemathesis's check, except a 422 whose every error is a rule of STATE_RULES."""
    try:
        return openapi_checks.positive_data_acceptance(ctx, response, case)
    except AssertionError:
        if _unquoted_percent(case, response):
            return None
        if response.status_code == 422:
            errors = _problem_errors(case, response)
            if errors and all(_state_rule(case.operation.label, error) for error in errors):
                return None
        raise


CHECKS: list[Any] = [
    positive_data_acceptance if check is openapi_checks.positive_data_acceptance else check
    for check in schemathesis.checks.CHECKS.get_all()
]

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "suppress-health-check": ["all"],
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": COVERAGE},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": {
            # SPEC 5: a record that does not exist is 404; a versioned update without
            # If-Match is 428 and with a stale one 412; a conflict with the state is 409.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "412", "428"]
            },
        },
        "generation": {
            "mode": "all",
            # SPEC 8: PostgreSQL stores neither NUL nor unpaired surrogates; every text
            # field answers them with a 422 (tests/security/test_hostile_input.py).
            "allow-x00": False,
            "codec": "utf-8",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
    }
)


POSITIVE_CHECKS = [check for check in CHECKS if check is not openapi_checks.negative_data_rejection]


def _negation_undone(case: Case[Any], headers: dict[str, str], derived: bool) -> bool:
    """Whether the test replaced the part of a negative case that made it negative."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_negative:
        return False
    # The variant with existing records replaced every path value.
    return derived or ("Authorization" in headers and meta.is_negative_at(ParameterLocation.HEADER))


class World:
    """The seeded data and the headers of each role."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def with_data(self, case: Case[Any]) -> Case[Any] | None:
        """The case with its path parameters pointing at records that exist."""
        if not case.path_parameters:
            return None
        values = path_values(case.path, self.dataset, dict(case.path_parameters))
        derived = case.derive()
        derived.path_parameters = values
        return derived


@pytest.fixture(scope="module")
def fuzz_world(committed_world: CommittedWorld) -> World:
    return World(committed_world.dataset)


@pytest.fixture(scope="module")
def fuzz_app(
    fuzz_world: World, test_database: DatabaseUnderTest, test_settings: Settings
) -> Iterator[FastAPI]:
    settings_ = test_settings.model_copy(update=UNLIMITED)
    # schemathesis runs ASGI apps on one event loop thread of its own (its portal):
    # the engine's connections belong to that loop, so they are closed there too.
    engine = make_engine(test_database.service_url, settings_, pool_size=2)
    yield create_app(settings_, database=Database(engine))
    schemathesis_asgi._get_portal().call(engine.dispose)


for _name in ("operations", "examples", "coverage cases", "2xx answers", "4xx answers"):
    figures.add("schemathesis", _name, 0)
for _role in (*ROLES, "total"):
    figures.add("schemathesis requests", _role, 0)
_seen_operations: set[str] = set()

_ORG_BODY = st.text("0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=8, max_size=8)
_USCC = st.builds(lambda body: codes.make_uscc("9", "1", "110105", body), _ORG_BODY)
_ORG_CODE = _USCC.map(codes.org_code_of)
# The `format`s of the document whose check characters a pattern cannot say.
schemathesis.openapi.format("uscc", _USCC)
schemathesis.openapi.format(
    "organization-code", _USCC | _ORG_CODE | _ORG_CODE.map(lambda c: f"{c[:8]}-{c[8]}")
)
schemathesis.openapi.format(
    "gtin",
    st.sampled_from([7, 11, 12, 13])
    .flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n).filter(lambda b: b.strip("0")))
    .map(make_gtin),
)

schema = schemathesis.openapi.from_dict(copy.deepcopy(document()), config=CONFIG)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operation_as_every_role(case: Case[Any], fuzz_app: FastAPI, fuzz_world: World) -> None:
    if case.operation.label not in _seen_operations:
        _seen_operations.add(case.operation.label)
        figures.add("schemathesis", "operations")
    figures.add("schemathesis", "examples")
    # The checks that send requests of their own (ignored_auth's probes) use the
    # operation's schema's app.
    case.operation.schema.app = fuzz_app
    for variant, derived, role in _requests(case, fuzz_world):
        headers = fuzz_world.dataset.headers[role]
        checks = CHECKS if not _negation_undone(variant, headers, derived) else POSITIVE_CHECKS
        response = variant.call(app=fuzz_app, headers=headers)
        figures.add("schemathesis requests", role)
        figures.add("schemathesis requests", "total")
        figures.add("schemathesis", f"{response.status_code // 100}xx answers")
        variant.validate_response(
            response, checks=checks, headers=headers, transport_kwargs={"app": fuzz_app}
        )


_coverage_sent = itertools.count()


def _requests(case: Case[Any], world: World) -> Iterator[tuple[Case[Any], bool, str]]:
    """(variant, whether its path points at existing records, role) to send.

    A generated case goes out as every role, as generated and with existing
    records in its path. A coverage case (boundary values, missing headers,
    undeclared methods: several thousand) goes out once, as the next role in
    turn, with existing records in its path unless its path is what it negates:
    every role meets every kind of case at a fifth of the cost.
    """
    with_data = world.with_data(case)
    meta = case.meta
    if meta is not None and meta.phase.name == TestPhase.COVERAGE:
        role = ROLES[next(_coverage_sent) % len(ROLES)]
        figures.add("schemathesis", "coverage cases")
        if with_data is None or meta.is_negative_at(ParameterLocation.PATH):
            yield case, False, role
        else:
            yield with_data, True, role
        return
    for variant, derived in ((case, False), (with_data, True)):
        if variant is not None:
            for role in ROLES:
                yield variant, derived, role
