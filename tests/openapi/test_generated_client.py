"""A partner's generated client, as a partner makes and uses it (issue 18).

`openapi-python-client` generates a client from the live server's /openapi.json;
README's example (`partner.py`, taken verbatim from the partner section) is
checked with `mypy --strict` against it and run against the server: a credit
lookup, a batch with a good and a bad code, the change feed paged to its end by
`cursor`, the latest red list, an item code whose lot holds `/`, and feedback.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from app.journal import heads, sequencer
from tests.codes.helpers import batch_body, lot_path, product_body
from tests.conftest import ROOT, TEST_SIGNING_KEY
from tests.factories import committed_key, committed_organization
from tests.records.helpers import grade

LOT = "L2026/11"  # percent-encoded in the path: a generated client must send `%2F`
BAD_CODE = "91110000600037341X"
GENERATE = "openapi-python-client generate --url https://registry.example/openapi.json"


def readme_example() -> str:
    """README's generated-client example: the one Python block that imports `qcr_client`."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"\n( *)```python\n(.*?)\n\1```", readme, flags=re.DOTALL)
    found = [
        "\n".join(line.removeprefix(indent) for line in body.split("\n"))
        for indent, body in blocks
        if "from qcr_client import" in body
    ]
    assert len(found) == 1, "README shows one generated-client example"
    assert GENERATE in readme and "--meta none" in readme
    return found[0] + "\n"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


async def _seed(base_url: str, engine: AsyncEngine) -> tuple[dict[str, str], list[str]]:
    """An organization on the red list, its product, batch and item codes, a red-list
    publication, all sequenced; the partner's key and partner.py's arguments."""
    uscc = await committed_organization(engine)
    regulator = await committed_key(engine, "regulator")
    partner = await committed_key(engine, "partner")
    async with AsyncClient(base_url=base_url, headers=regulator) as api:
        answers = [await api.post(f"/v1/organizations/{uscc}/grades", json=grade(grade="AAA"))]
        answers.append(await api.post("/v1/products", json=product_body(uscc)))
        gtin = answers[-1].json()["gtin"]
        answers.append(await api.post(f"/v1/products/{gtin}/batches", json=batch_body(LOT)))
        answers.append(
            await api.post(f"/v1/products/{gtin}/batches/{lot_path(LOT)}/codes", json={"count": 2})
        )
        first_uri = answers[-1].json()["first_uri"]
        answers.append(await api.post("/v1/lists/red/publications", json={"note": "第一期"}))
    for answer in answers:
        assert answer.status_code == 201, answer.text
    # The live server runs no sequencer (no lifespan): the feed shows sequenced events.
    assert await sequencer.catch_up(engine, heads.signer_from_seed(TEST_SIGNING_KEY))
    serial = first_uri.rsplit("/21/", 1)[1]
    assert f"/10/{lot_path(LOT)}/21/" in first_uri
    key = partner["Authorization"].removeprefix("Bearer ")
    return partner, [base_url, key, uscc, gtin, LOT, serial]


def _generate(base_url: str, where: Path) -> None:
    config = where / "generator.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no formatter: faster, the same code
    generated = run(
        "-m", "openapi_python_client", "generate",
        "--url", f"{base_url}/openapi.json",
        "--meta", "none",
        "--output-path", str(where / "qcr_client"),
        "--config", str(config),
        cwd=where,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert (where / "qcr_client" / "api" / "resolver" / "resolve_item.py").exists()


def _typecheck(where: Path) -> None:
    """`mypy --strict` passes README's example and fails a misuse of the same client."""
    (where / "mypy.ini").write_text("[mypy]\nstrict = True\n")  # the generated package too
    (where / "misuse.py").write_text(
        "from qcr_client import AuthenticatedClient\n"
        "from qcr_client.api.credit import credit_lookup_v1_organizations_code_credit_get as c\n"
        "from qcr_client.models import CreditOut\n"
        "found = c.sync('x', client=AuthenticatedClient(base_url='http://x', token='k'))\n"
        "assert isinstance(found, CreditOut)\n"
        "print(found.grade + 1, found.no_such_field)\n"
    )
    checked = run(
        "-m", "mypy", "--config-file", "mypy.ini", "--cache-dir", ".mypy_cache",
        "partner.py", "misuse.py",
        cwd=where,
    )  # fmt: skip
    errors = [line for line in checked.stdout.splitlines() if ": error:" in line]
    assert errors, checked.stdout + checked.stderr
    assert all(line.startswith("misuse.py:6:") for line in errors), checked.stdout
    assert len(errors) == 2, checked.stdout  # str + int; an attribute CreditOut lacks


async def test_a_generated_client_typed_against_the_live_server(
    live_server: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    partner, arguments = await _seed(live_server, engine)
    _generate(live_server, tmp_path)
    (tmp_path / "partner.py").write_text(readme_example())
    _typecheck(tmp_path)

    ran = run("partner.py", *arguments, cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = [line.split(" ") for line in ran.stdout.splitlines()]
    _, _, uscc, gtin, lot, serial = arguments
    async with AsyncClient(base_url=live_server, headers=partner) as api:
        expected: dict[str, Any] = (await api.get(f"/v1/organizations/{uscc}/credit")).json()
        red = (await api.get("/v1/lists/red/latest", params={"format": "json"})).json()
        feed = await _whole_feed(api)
    assert expected["red_list"] is True
    assert lines[0] == ["credit", uscc, expected["grade"], "True"]
    assert lines[1] == ["batch", uscc, expected["grade"]]
    assert lines[2] == ["batch", BAD_CODE, "422"]
    changes = [line for line in lines if line[0] == "change"]
    # Every event once, in order: the pages followed `next_cursor` to its end.
    assert changes == [["change", str(e["seq"]), e["type"]] for e in feed]
    assert len(changes) > 5  # more than one page of 5
    rest = lines[3 + len(changes) :]
    assert rest[0] == ["latest", "red", str(red["number"]), str(red["entry_count"])]
    assert red["entry_count"] >= 1
    assert rest[1] == ["item", gtin, lot, serial, "1"]  # the scan counted
    assert rest[2] == ["feedback", lot, serial, "4"]
    assert len(rest) == 3


async def _whole_feed(api: AsyncClient) -> list[dict[str, Any]]:
    """The change feed by `after=<seq>`, without the generated client."""
    events: list[dict[str, Any]] = []
    while True:
        after = events[-1]["seq"] if events else 0
        page = (await api.get("/v1/changes", params={"after": after, "limit": 200})).json()
        events += page["items"]
        if page["next_cursor"] is None:
            return events
