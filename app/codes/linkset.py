"""GS1 link types and the RFC 9264 linkset of a code (pure functions).

A GS1-Conformant resolver answers `?linkType=linkset` (older: `all`) with a
linkset whose relation types are GS1 Web Vocabulary URIs
(`https://gs1.org/voc/pip`, …), each a list of target objects with `href`,
`title`, `type` and `hreflang`. Here every link points back at this resolver:
the HTML target redirects to the page's section, the JSON target answers that
part alone.
"""

from __future__ import annotations

from typing import Any

VOCABULARY = "https://gs1.org/voc/"
_VOCABULARIES = (VOCABULARY, "https://ref.gs1.org/voc/", "http://gs1.org/voc/")

PIP = "gs1:pip"
RECALL_STATUS = "gs1:recallStatus"
CERTIFICATION = "gs1:certificationInfo"
REVIEW = "gs1:review"
LINKSET = "linkset"

TITLES = {
    PIP: "产品信息",
    RECALL_STATUS: "召回状态",
    CERTIFICATION: "检验报告与监督抽查",
    REVIEW: "消费者评价",
}
# Where each link type's part sits on the HTML page.
SECTIONS = {RECALL_STATUS: "recalls", CERTIFICATION: "inspections", REVIEW: "feedback"}
MEDIA_TYPE = "application/linkset+json"


def normalise(link_type: str | None) -> str | None:
    """`gs1:x` for a GS1 link type in any spelling, LINKSET for `all`/`linkset`,
    None for the default (absent, `gs1:pip`, or a type this resolver has not:
    a GS1 resolver then answers with the default link)."""
    if link_type is None:
        return None
    value = link_type.strip()
    if value in ("all", "linkset"):
        return LINKSET
    for prefix in _VOCABULARIES:
        if value.startswith(prefix):
            value = "gs1:" + value[len(prefix) :]
    return value if value in TITLES and value != PIP else None


def _targets(anchor: str, link_type: str) -> list[dict[str, Any]]:
    title = TITLES[link_type]
    html = anchor if link_type == PIP else f"{anchor}?linkType={link_type}"
    json = f"{anchor}?format=json" if link_type == PIP else f"{html}&format=json"
    return [
        {"href": html, "title": title, "type": "text/html", "hreflang": ["zh-CN"]},
        {"href": json, "title": title, "type": "application/json", "hreflang": ["zh-CN"]},
    ]


def build(anchor: str) -> dict[str, Any]:
    """The linkset of one code: product information (also the default link),
    recall status, certification (inspection reports) and review (feedback)."""
    links: dict[str, Any] = {"anchor": anchor}
    for link_type in (PIP, RECALL_STATUS, CERTIFICATION, REVIEW):
        links[VOCABULARY + link_type.removeprefix("gs1:")] = _targets(anchor, link_type)
    links[VOCABULARY + "defaultLink"] = _targets(anchor, PIP)[:1]
    return {"linkset": [links]}


def link_header(anchor: str) -> str:
    """The `Link` header every resolver answer carries, pointing at the linkset."""
    return f'<{anchor}?linkType=linkset>; rel="linkset"; type="{MEDIA_TYPE}"'


def part(link_type: str, anchor: str, document: dict[str, Any]) -> dict[str, Any]:
    """What one link type answers as JSON."""
    out: dict[str, Any] = {"anchor": anchor, "linkType": link_type}
    if link_type == RECALL_STATUS:
        out["recalled"] = bool(document["recalls"])
        out["recalls"] = document["recalls"]
    elif link_type == CERTIFICATION:
        batch = document["batch"]
        out["inspection_reports"] = batch["inspection_reports"] if batch else []
        out["inspections"] = document["product"]["inspections"]
    elif link_type == REVIEW:
        out["feedback"] = document["feedback"]
        out["form"] = {
            "href": f"{anchor}/feedback",
            "method": "POST",
            "accepts": ["application/json", "application/x-www-form-urlencoded"],
            "fields": {
                "rating": "integer 1-5 (required)",
                "comment": "text, at most 500 characters",
                "complaint": "boolean",
                "contact": "text, at most 100 characters; private (regulators only)",
            },
        }
    return out
