"""Making events through the API, for the webhook tests."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.records.helpers import recall


async def subscribe(
    client: AsyncClient, headers: dict[str, str], url: str, events: list[str], **body: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/subscriptions", json={"url": url, "events": events} | body, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def open_recall(client: AsyncClient, regulator: dict[str, str], uscc: str) -> dict[str, Any]:
    """A recorded recall: one `recall.opened` event."""
    response = await client.post(
        f"/v1/organizations/{uscc}/recalls", json=recall(), headers=regulator
    )
    assert response.status_code == 201, response.text
    return dict(response.json())
