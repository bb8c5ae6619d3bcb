"""Inclusion and consistency proofs over HTTP (SPEC §7), served as hot routes
(app/core/hotroute.py): the caller's key (cached), one prepared statement on the
primary (app/journal/proofs.py), the answer serialised once by orjson.

The order of the answers is that of an ordinary route: 401/403 for the key's
role, 422 for the parameters, then 404 for a `seq` not sequenced, 403 for an
entry the enterprise may not read, 422 for a `tree_size` beyond the log or below
`seq`.
"""

from __future__ import annotations

import orjson
from fastapi import Depends, Request, Response

from app.audit.schemas import ConsistencyProofOut, InclusionProofOut
from app.auth.dependencies import admitted, require
from app.core.errors import Forbidden, NotFound, invalid
from app.core.hotroute import HotRoute, IntegerParameter, integers, primary_driver
from app.core.principal import Role
from app.core.routing import responses
from app.journal import merkle
from app.journal import proofs as journal_proofs
from app.journal.proofs import entry_json

MAX_SIZE = 2**62
JSON = "application/json"
# Entries of these entities concern a consumer or a complainant, not the
# organization: its enterprise key may not read them (SPEC §7).
NOT_FOR_ENTERPRISE = frozenset({"feedback", "complaint"})

READERS = require(Role.regulator, Role.enterprise)
SEQ = IntegerParameter("seq", "path", 1, MAX_SIZE)
TREE_SIZE = IntegerParameter(
    "tree_size", "query", 1, MAX_SIZE, required=False, description="default: the current tree size"
)
FIRST = IntegerParameter("first", "query", 1, MAX_SIZE)
SECOND = IntegerParameter("second", "query", 1, MAX_SIZE)


def check_size(field: str, size: int, current: int) -> None:
    if size > current:
        raise invalid(field, f"is beyond the log: the tree has {current} entries")


async def inclusion_proof(request: Request) -> Response:
    """The RFC 9162 inclusion proof of entry `seq` in the tree of `tree_size`."""
    caller = await admitted(request, READERS)
    seq, tree_size = integers(request, SEQ, TREE_SIZE)
    assert seq is not None
    async with primary_driver(request) as driver:
        row = await journal_proofs.inclusion(driver, seq, tree_size)
    if row["leaf_hash"] is None:
        raise NotFound(f"no sequenced entry {seq}: it does not exist or is not sequenced yet")
    uscc = row["uscc"]
    if not caller.is_regulator and not (
        uscc is not None and caller.owns(uscc) and row["entity"] not in NOT_FOR_ENTERPRISE
    ):
        raise Forbidden("regulators, or the enterprise of the entry's organization, only")
    size = int(row["n"])
    check_size("tree_size", size, row["current"])
    if seq > size:
        raise invalid("tree_size", f"must be at least seq ({seq})")
    path = journal_proofs.folded(row, merkle.inclusion_ranges(seq - 1, size))
    leaf_hash = row["leaf_hash"]
    answer = {
        "seq": seq,
        "tree_size": size,
        "leaf_hash": leaf_hash,
        "entry": entry_json(row, seq, leaf_hash),
        "audit_path": path,
    }
    return Response(orjson.dumps(answer), media_type=JSON)


async def consistency_proof(request: Request) -> Response:
    """The RFC 9162 consistency proof between two tree sizes."""
    first, second = integers(request, FIRST, SECOND)
    assert first is not None and second is not None
    if first > second:
        raise invalid("first", "must not exceed second")
    async with primary_driver(request) as driver:
        row = await journal_proofs.consistency(driver, first, second)
    check_size("second", second, row["current"])
    proof = journal_proofs.folded(row, merkle.consistency_ranges(first, second))
    return Response(
        orjson.dumps({"first": first, "second": second, "proof": proof}), media_type=JSON
    )


ROUTES = (
    HotRoute(
        "/v1/audit/entries/{seq}/proof",
        inclusion_proof,
        methods=["GET"],
        tags=["audit"],
        response_model=InclusionProofOut,
        responses=responses(401, 403, 404, 422),
        # Documents the roles and the key; `inclusion_proof` applies the check itself.
        dependencies=[Depends(READERS)],
        openapi_extra={"parameters": [SEQ.openapi(), TREE_SIZE.openapi()]},
    ),
    HotRoute(
        "/v1/audit/consistency",
        consistency_proof,
        methods=["GET"],
        tags=["audit"],
        response_model=ConsistencyProofOut,
        responses=responses(422),
        openapi_extra={"parameters": [FIRST.openapi(), SECOND.openapi()]},
    ),
)
