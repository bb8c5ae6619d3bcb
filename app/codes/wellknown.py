"""`/.well-known/gs1resolver`: the resolver's description file (GS1-Conformant
resolver standard), read by GS1 tools and the conformance suite before they
resolve anything here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.codes import linkset
from app.codes.pages import json_body
from app.core.settings import settings_of

router = APIRouter(tags=["resolver"])

# The link types' titles in the file's one language (zh).
TITLES_ZH = {
    linkset.PIP: "产品、生产者、批次与信用信息（默认链接）",
    linkset.RECALL_STATUS: "覆盖此码的进行中召回",
    linkset.CERTIFICATION: "检验报告与监督抽查结果",
    linkset.REVIEW: "消费者评价与投诉表单",
}


def description(root: str) -> dict[str, Any]:
    """The description file for a resolver at `root` (pure)."""
    active = {
        link_type: {
            "title": TITLES_ZH[link_type],
            "url": linkset.VOCABULARY + link_type.removeprefix("gs1:"),
        }
        for link_type in linkset.TITLES
    }
    return {
        "name": "Quality Credit Registry — 一品一码 resolver",
        "resolverRoot": root.rstrip("/"),
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": linkset.VOCABULARY, "prefix": "gs1:"}],
        "linkTypeDefaultCanBeAll": False,
        "supportsLanguageVariants": False,
        "supportsSemanticInterpretation": False,
        "validatesAIcombinations": True,
        "activeLinkTypes": {"zh": active},
    }


@router.get(
    "/.well-known/gs1resolver",
    response_class=Response,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def gs1resolver(request: Request) -> Response:
    """The resolver's description: root, primary keys (`01`), link types it answers."""
    root = settings_of(request.app).public_base_url
    return Response(
        json_body(description(root)),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=3600"},
    )
