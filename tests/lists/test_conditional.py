"""ETag and Last-Modified on the Atom feeds, the publications and latest, with 304
for If-None-Match and If-Modified-Since (issue 18: pollers download only changes)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.lists.helpers import publish, red_listed

READS = (
    "/v1/lists/red/feed.atom",
    "/v1/lists/red/publications",
    "/v1/lists/red/latest",
    "/v1/lists/red/publications/{number}",
    "/v1/lists/red/publications/{number}?format=csv",
    "/v1/lists/red/publications/{number}?format=jsonl",
)


@pytest.mark.parametrize("template", READS)
async def test_validators_and_not_modified(
    client: AsyncClient,
    session: AsyncSession,
    regulator: dict[str, str],
    template: str,
) -> None:
    await red_listed(client, session, regulator)
    first = await publish(client, regulator, "red")
    path = template.format(number=first["number"])
    answer = await client.get(path)
    assert answer.status_code == 200
    etag, modified = answer.headers["etag"], answer.headers["last-modified"]
    assert parsedate_to_datetime(modified).year >= 2026
    assert (await client.get(path)).headers["etag"] == etag  # stable
    for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = await client.get(path, headers=conditional)
        assert again.status_code == 304, conditional
        assert again.content == b""
        assert again.headers["etag"] == etag
    head = await client.head(path, headers={"If-None-Match": etag})
    assert head.status_code == 304
    stale = await client.get(path, headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.content == answer.content
    # If-None-Match decides over If-Modified-Since; a bad date is ignored.
    mixed = {"If-None-Match": '"other"', "If-Modified-Since": modified}
    assert (await client.get(path, headers=mixed)).status_code == 200
    assert (await client.get(path, headers={"If-Modified-Since": "yesterday"})).status_code == 200
    # A new publication changes the feed, the index and latest (not publication 1).
    await red_listed(client, session, regulator)
    await publish(client, regulator, "red")
    after = await client.get(path, headers={"If-None-Match": etag})
    if "{number}" in template:
        assert after.status_code == 304
    else:
        assert after.status_code == 200 and after.headers["etag"] != etag
