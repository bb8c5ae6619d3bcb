"""What generated clients rely on in /openapi.json (issue 18): JSON first, one
Problem component, typed batch results, the change feed paged by `cursor`."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import PROBLEM_JSON
from tests.factories import make_organization
from tests.records.helpers import violation

PROBLEM_REF = "#/components/schemas/Problem"


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    methods = {"get", "head", "post", "put", "patch", "delete"}
    return [
        (path, method, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in methods
    ]


async def test_every_json_success_lists_json_first(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    checked = 0
    for path, method, op in _operations(spec):
        for status, answer in op["responses"].items():
            content = answer.get("content", {})
            if status.startswith("2") and "application/json" in content:
                assert next(iter(content)) == "application/json", f"{method} {path} {status}"
                checked += 1
    assert checked > 50
    latest = spec["paths"]["/v1/lists/{kind}/latest"]["get"]["responses"]["200"]["content"]
    assert next(iter(latest)) == "application/json" and "text/csv" in latest


async def test_every_problem_refers_to_the_one_component(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["components"]["schemas"]["Problem"]["required"] == [
        "type",
        "title",
        "status",
        "detail",
    ]
    for path, method, op in _operations(spec):
        for status, answer in op["responses"].items():
            content = answer.get("content", {})
            problem = content.get(PROBLEM_JSON)
            if problem is not None:
                assert problem["schema"] == {"$ref": PROBLEM_REF}, f"{method} {path} {status}"
                # first, as generators read the first (the resolver's 404 page stays)
                assert next(iter(content)) == PROBLEM_JSON, f"{method} {path} {status}"
    inlined = [
        name
        for name, schema in spec["components"]["schemas"].items()
        if name != "Problem" and set(schema.get("required", [])) >= {"type", "title", "status"}
    ]
    assert inlined == []


async def test_batch_results_are_typed(client: AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    items = schemas["BatchResponse"]["properties"]["results"]["items"]
    refs = {choice["$ref"].rsplit("/", 1)[1] for choice in items["anyOf"]}
    assert refs == {"BatchCredit", "BatchError"}
    assert {"code", "grade", "black_list"} <= set(schemas["BatchCredit"]["required"])
    assert schemas["BatchError"]["properties"]["error"] == {"$ref": PROBLEM_REF}


async def test_change_feed_pages_by_cursor(
    client: AsyncClient, session: AsyncSession, partner: dict[str, str], regulator: dict[str, str]
) -> None:
    uscc = await make_organization(session)
    for case in ("C-1", "C-2", "C-3"):
        response = await client.post(
            f"/v1/organizations/{uscc}/violations", json=violation(case_no=case), headers=regulator
        )
        assert response.status_code == 201
    everything = (await client.get("/v1/changes?limit=200", headers=partner)).json()["items"]
    start = everything[-4]["seq"]
    seen: list[int] = []
    page = (await client.get(f"/v1/changes?after={start}&limit=1", headers=partner)).json()
    seen += [e["seq"] for e in page["items"]]
    while page["next_cursor"] is not None:
        cursor = page["next_cursor"]
        response = await client.get(f"/v1/changes?cursor={cursor}&limit=1", headers=partner)
        assert response.status_code == 200
        page = response.json()
        seen += [e["seq"] for e in page["items"]]
    assert seen == [e["seq"] for e in everything[-3:]]
    # `after` still works, and agrees with the cursor; nonsense is a 422 naming it.
    same = await client.get(f"/v1/changes?after={start}&cursor={start}", headers=partner)
    assert same.status_code == 200
    for query in ("cursor=abc", f"cursor={start}&after={start + 1}", "cursor=-1"):
        bad = await client.get(f"/v1/changes?{query}", headers=partner)
        assert bad.status_code == 422, query
        assert bad.json()["errors"][0]["field"] == "cursor"
