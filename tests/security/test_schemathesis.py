"""Contract fuzzing: schemathesis over the app's own OpenAPI document, in process.

Every operation of `/openapi.json` (so operations added later are covered with
no change here), examples from the document plus generated valid and invalid
requests, each sent as every role: anonymous, partner, enterprise (bound to an
organization that exists), regulator and admin. Each generated request is sent
twice per role: as generated, and with its path parameters pointed at records
that exist, so lookups and writes reach real data and not only 404s.

Checks: no 5xx, the status code is documented, the body and headers conform to
the documented response (problem+json included). The data is committed for real
(the app runs on schemathesis's own event loop) and removed afterwards.

`QCR_FUZZ_EXAMPLES=N` generates more examples per operation; `QCR_FUZZ_COVERAGE=1`
adds schemathesis's coverage phase (boundary values of every parameter: about
five times the requests, minutes rather than seconds) for a deeper run by hand.

The schema is loaded at import (`schemathesis.openapi.from_dict`) rather than
with `schemathesis.pytest.from_fixture`: the lazy loader of 4.32.5 sets
`Function._nodeid`, which pytest 9.2 no longer has.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi import checks as openapi_checks

from app.core.database import Database, make_engine
from app.core.settings import Settings
from app.main import create_app
from tests import figures
from tests.conftest import DatabaseUnderTest
from tests.security.conftest import UNLIMITED, CommittedWorld
from tests.security.dataset import ROLES, Dataset, path_values
from tests.security.helpers import document

# Examples generated per operation (plus the document's own examples); each is
# sent 2 × 5 times. Keeps the whole pass around a minute on two cores.
MAX_EXAMPLES = int(os.environ.get("QCR_FUZZ_EXAMPLES", "12"))
COVERAGE = os.environ.get("QCR_FUZZ_COVERAGE") == "1"
SEED = 20261123

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.response_headers_conformance,
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
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
    }
)


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


for _name in ("operations", "examples", "2xx answers", "4xx answers"):
    figures.add("schemathesis", _name, 0)
for _role in (*ROLES, "total"):
    figures.add("schemathesis requests", _role, 0)
_seen_operations: set[str] = set()

schema = schemathesis.openapi.from_dict(copy.deepcopy(document()), config=CONFIG)


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operation_as_every_role(case: Case[Any], fuzz_app: FastAPI, fuzz_world: World) -> None:
    if case.operation.label not in _seen_operations:
        _seen_operations.add(case.operation.label)
        figures.add("schemathesis", "operations")
    figures.add("schemathesis", "examples")
    variants = [case]
    if (with_data := fuzz_world.with_data(case)) is not None:
        variants.append(with_data)
    for variant in variants:
        for role in ROLES:
            headers = fuzz_world.dataset.headers[role]
            response = variant.call(app=fuzz_app, headers=headers)
            figures.add("schemathesis requests", role)
            figures.add("schemathesis requests", "total")
            figures.add("schemathesis", f"{response.status_code // 100}xx answers")
            variant.validate_response(response, checks=CHECKS, headers=headers)
